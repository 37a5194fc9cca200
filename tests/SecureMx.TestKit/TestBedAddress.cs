using System.Globalization;
using System.Net;

namespace SecureMx.TestKit;

/// <summary>
/// An address of the DNSSEC test bed as the zone definition writes it: <c>NET.N</c>, fixed, or
/// <c>NET.b+K</c>, K above the bed's --mx-base; a real address once the bed's /24 prefix is known.
/// </summary>
public readonly record struct TestBedAddress(int Number, bool AboveMxBase)
{
    /// <summary>Parses "NET.N" (N 1-254) or "NET.b+K" (K 0-254); null for anything else.</summary>
    public static TestBedAddress? TryParse(string text)
    {
        const string prefix = "NET.";
        if (!text.StartsWith(prefix, StringComparison.Ordinal)) return null;
        var rest = text[prefix.Length..];
        bool above = rest.StartsWith("b+", StringComparison.Ordinal);
        if (above) rest = rest[2..];
        if (rest.Length is 0 or > 3 || !rest.All(char.IsAsciiDigit)) return null;
        int n = int.Parse(rest, CultureInfo.InvariantCulture);
        if (above ? n > 254 : n is < 1 or > 254) return null;
        return new TestBedAddress(n, above);
    }

    /// <summary>The address on a bed with prefix <paramref name="net"/> (e.g. "127.0.5") and the given --mx-base.</summary>
    public IPAddress On(string net, int mxBase)
    {
        int last = AboveMxBase ? mxBase + Number : Number;
        if (last is < 1 or > 254) throw new ArgumentOutOfRangeException(nameof(mxBase), mxBase, $"{this} is outside the /24 with --mx-base {mxBase}");
        return IPAddress.Parse($"{net}.{last}");
    }

    public override string ToString() => AboveMxBase ? $"NET.b+{Number}" : $"NET.{Number}";
}
