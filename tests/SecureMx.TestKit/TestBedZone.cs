using System.Globalization;

namespace SecureMx.TestKit;

/// <summary>A zone of the test bed (a "zone" line of dns-testbed.zones and the records under it).</summary>
public sealed class TestBedZone
{
    internal TestBedZone(string role, string name, TestBedZoneKind kind, IReadOnlyList<TestBedRecord> records)
    {
        Role = role;
        Name = name;
        Kind = kind;
        Records = records;
    }

    /// <summary>The fixtures' name for the zone (a property of <see cref="TestBed"/>).</summary>
    public string Role { get; }

    /// <summary>The domain (X.test).</summary>
    public string Name { get; }

    public TestBedZoneKind Kind { get; }

    /// <summary>Its records in the order of the file (the A records of "host" lines included).</summary>
    public IReadOnlyList<TestBedRecord> Records { get; }

    /// <summary>The MX records of the domain in the order of the file; a null MX (RFC 7505) has the host ".".</summary>
    public IReadOnlyList<TestBedMx> MxHosts => Records
        .Where(r => r.Type == "MX" && r.Owner == Name)
        .Select(r => r.Data.Split(' ', 2))
        .Select(p => new TestBedMx(p[1] == "." ? "." : p[1].TrimEnd('.'), int.Parse(p[0], CultureInfo.InvariantCulture)))
        .ToList();

    /// <summary>The one MX host of the domain; throws where the zone has none or several.</summary>
    public string Mx => MxHosts.Count == 1
        ? MxHosts[0].Host
        : throw new InvalidOperationException($"{Name} has {MxHosts.Count} MX records, not one");

    /// <summary>The one TLSA (or BOGUS-TLSA) record of the zone; throws where it has none or several.</summary>
    public TestBedRecord Tlsa => Single("TLSA");

    /// <summary>The one record of <paramref name="type"/> in the zone, e.g. its CNAME; throws where it has none or several.</summary>
    public TestBedRecord Single(string type)
    {
        var found = Records.Where(r => r.Type == type).ToList();
        return found.Count == 1 ? found[0] : throw new InvalidOperationException($"{Name} has {found.Count} {type} records, not one");
    }

    /// <summary>
    /// The DIR/records.conf line that gives the zone's TLSA record the data <paramref name="tlsa"/>
    /// ("3 1 1 hex" of a real certificate) instead of the placeholder; a BOGUS-TLSA stays bogus.
    /// </summary>
    public string TlsaLine(string tlsa)
    {
        var record = Tlsa;
        return record.Bogus ? $"BOGUS-TLSA {record.Owner}. {tlsa}" : $"{record.Owner}. TLSA {tlsa}";
    }

    public override string ToString() => Name;
}
