using System.Text.RegularExpressions;

namespace SecureMx.TestKit;

/// <summary>
/// The zone definition of the DNSSEC test bed (tests/peers/dns-testbed.zones, whose header describes
/// the syntax): the same file dns-testbed.sh builds its zones from, read so that the fixtures know
/// the bed's names and addresses without writing them again.
/// </summary>
public sealed partial class TestBedDefinition
{
    /// <summary>The file as built next to the test binaries (a copy of tests/peers/dns-testbed.zones).</summary>
    public static string DefaultPath { get; } = Path.Combine(AppContext.BaseDirectory, "dns-testbed.zones");

    private static readonly Lazy<TestBedDefinition> LazyDefault = new(() => Load(DefaultPath));

    /// <summary>The definition the fixtures and the test-bed script use.</summary>
    public static TestBedDefinition Default => LazyDefault.Value;

    private readonly Dictionary<string, TestBedZone> _zones;
    private readonly Dictionary<string, string> _hosts;
    private readonly Dictionary<string, TestBedAddress> _addresses;
    private readonly Dictionary<string, string> _absent;

    private TestBedDefinition(List<TestBedZone> zones, Dictionary<string, string> hosts, Dictionary<string, TestBedAddress> addresses, Dictionary<string, string> absent)
    {
        Zones = zones;
        _zones = zones.ToDictionary(z => z.Role, StringComparer.Ordinal);
        _hosts = hosts;
        _addresses = addresses;
        _absent = absent;
    }

    /// <summary>Every zone, in the order of the file.</summary>
    public IReadOnlyList<TestBedZone> Zones { get; }

    /// <summary>The roles of the "address" lines, with their addresses.</summary>
    public IReadOnlyDictionary<string, TestBedAddress> Addresses => _addresses;

    public TestBedZone Zone(string role) => _zones.TryGetValue(role, out var zone) ? zone : throw Missing("zone", role);

    /// <summary>The name of the host of a "host" line.</summary>
    public string Host(string role) => _hosts.TryGetValue(role, out var name) ? name : throw Missing("host", role);

    /// <summary>The address of an "address" line.</summary>
    public TestBedAddress Address(string role) => _addresses.TryGetValue(role, out var address) ? address : throw Missing("address", role);

    /// <summary>The name of an "absent" line (a name that does not exist).</summary>
    public string Absent(string role) => _absent.TryGetValue(role, out var name) ? name : throw Missing("absent", role);

    /// <summary>The domain of a zone role or an absent role: what a recipient address of that role ends in.</summary>
    public string Domain(string role) => _zones.TryGetValue(role, out var zone) ? zone.Name : Absent(role);

    /// <summary>The address of the A record of <paramref name="host"/> (written without the final dot).</summary>
    public TestBedAddress AddressOf(string host)
    {
        var record = Zones.SelectMany(z => z.Records).FirstOrDefault(r => r.Type == "A" && r.Owner == host.ToLowerInvariant())
            ?? throw new KeyNotFoundException($"the test bed has no A record for {host}");
        return TestBedAddress.TryParse(record.Data)!.Value; // checked when the file was read
    }

    private static KeyNotFoundException Missing(string kind, string role) =>
        new($"the test bed's zone definition has no {kind} line with the role {role}");

    public static TestBedDefinition Load(string path) => Parse(File.ReadAllText(path), path);

    /// <summary>Reads a definition; throws <see cref="FormatException"/> naming SOURCE:LINE for anything malformed or ambiguous.</summary>
    public static TestBedDefinition Parse(string text, string source)
    {
        var zones = new List<(string Role, string Name, TestBedZoneKind Kind, List<TestBedRecord> Records)>();
        var hosts = new Dictionary<string, string>(StringComparer.Ordinal);
        var addresses = new Dictionary<string, TestBedAddress>(StringComparer.Ordinal);
        var absent = new Dictionary<string, string>(StringComparer.Ordinal);
        var roles = new HashSet<string>(StringComparer.Ordinal);
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNumber = i + 1;
            FormatException Error(string message) => new($"{source}:{lineNumber}: {message}");
            var line = lines[i];
            int hash = line.IndexOf('#', StringComparison.Ordinal);
            if (hash >= 0) line = line[..hash];
            var f = line.Split([' ', '\t', '\r'], StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 0) continue;

            void NewRole(string role)
            {
                if (!RoleName().IsMatch(role)) throw Error($"a role is a name like DaneOk (got '{role}')");
                if (!roles.Add(role)) throw Error($"the role {role} is used twice");
            }
            var current = zones.Count > 0 ? zones[^1] : default;
            void AddRecord(string owner, string type, string data, bool bogus)
            {
                if (current.Name is null) throw Error("a record before the first zone line");
                if (owner != current.Name && !owner.EndsWith("." + current.Name, StringComparison.Ordinal)) throw Error($"{owner} is not in the zone {current.Name}");
                current.Records.Add(new TestBedRecord(owner, type, data, bogus, lineNumber));
            }
            TestBedAddress ParseAddress(string word) => TestBedAddress.TryParse(word) ?? throw Error($"an address is NET.N or NET.b+K (got '{word}')");

            switch (f[0])
            {
                case "zone":
                    if (f.Length != 4) throw Error("zone ROLE NAME KIND expected");
                    NewRole(f[1]);
                    var name = f[2].ToLowerInvariant();
                    if (!ZoneName().IsMatch(name)) throw Error($"a zone is X.test (got '{f[2]}')");
                    if (zones.Any(z => z.Name == name)) throw Error($"the zone {name} is defined twice");
                    var kind = f[3] switch
                    {
                        "signed" => TestBedZoneKind.Signed,
                        "unsigned" => TestBedZoneKind.Unsigned,
                        "expired" => TestBedZoneKind.Expired,
                        _ => throw Error($"KIND is signed, unsigned or expired (got '{f[3]}')"),
                    };
                    zones.Add((f[1], name, kind, []));
                    break;
                case "host":
                    if (f.Length != 4) throw Error("host ROLE NAME ADDRESS expected");
                    NewRole(f[1]);
                    ParseAddress(f[3]);
                    AddRecord(f[2].ToLowerInvariant(), "A", f[3], bogus: false);
                    hosts[f[1]] = f[2].ToLowerInvariant();
                    break;
                case "address":
                    if (f.Length != 3) throw Error("address ROLE ADDRESS expected");
                    NewRole(f[1]);
                    addresses[f[1]] = ParseAddress(f[2]);
                    break;
                case "absent":
                    if (f.Length != 3) throw Error("absent ROLE NAME expected");
                    NewRole(f[1]);
                    absent[f[1]] = f[2].ToLowerInvariant();
                    break;
                case "BOGUS-TLSA":
                    if (f.Length != 6) throw Error("BOGUS-TLSA OWNER. USAGE SELECTOR MTYPE HEX expected");
                    if (!BogusOwner().IsMatch(f[1].ToLowerInvariant())) throw Error($"a BOGUS-TLSA owner is _PORT._tcp.HOST. (got '{f[1]}')");
                    AddRecord(f[1].ToLowerInvariant().TrimEnd('.'), "TLSA", string.Join(' ', f[2..]), bogus: true);
                    break;
                default:
                    if (f.Length < 3) throw Error("OWNER. TYPE DATA expected");
                    if (!f[0].EndsWith('.')) throw Error($"a record's owner is absolute, ending in '.' (got '{f[0]}')");
                    var type = f[1].ToUpperInvariant();
                    if (type == "A") ParseAddress(f[2]);
                    AddRecord(f[0].ToLowerInvariant().TrimEnd('.'), type, string.Join(' ', f[2..]), bogus: false);
                    break;
            }
        }
        var definition = new TestBedDefinition(zones.Select(z => new TestBedZone(z.Role, z.Name, z.Kind, z.Records)).ToList(), hosts, addresses, absent);
        definition.CheckConsistency(source);
        return definition;
    }

    /// <summary>What the line-by-line reading cannot see: names that both exist and do not, and addresses taken twice.</summary>
    private void CheckConsistency(string source)
    {
        var owners = Zones.SelectMany(z => z.Records.Select(r => r.Owner).Append(z.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var (role, name) in _absent)
        {
            if (owners.Any(o => o == name || o.EndsWith("." + name, StringComparison.Ordinal)))
                throw new FormatException($"{source}: {name} ({role}) is absent, but the file has records at or below it");
        }
        // The servers and listeners of "address" lines must not share an address with each other or with a
        // named host: a fixture would start two listeners there. (Two names of one host may share one.)
        var named = Zones.SelectMany(z => z.Records).Where(r => r.Type == "A")
            .Select(r => (Address: TestBedAddress.TryParse(r.Data)!.Value, What: r.Owner)).ToList();
        var taken = new Dictionary<TestBedAddress, string>();
        foreach (var (role, address) in _addresses)
        {
            if (!taken.TryAdd(address, role)) throw new FormatException($"{source}: the addresses {taken[address]} and {role} are both {address}");
            var host = named.FirstOrDefault(n => n.Address == address).What;
            if (host is not null) throw new FormatException($"{source}: the address {role} is {address}, the address of {host} too");
        }
    }

    [GeneratedRegex("^[A-Z][A-Za-z0-9]*$")]
    private static partial Regex RoleName();

    [GeneratedRegex(@"^[a-z0-9-]+\.test$")]
    private static partial Regex ZoneName();

    [GeneratedRegex(@"^_[0-9]{1,5}\._tcp\.([a-z0-9-]+\.)*[a-z0-9-]+\.test\.$")]
    private static partial Regex BogusOwner();
}
