using System.Net;
using SecureMx.Dns;
using SecureMx.MailAuth.Spf;
using YamlDotNet.RepresentationModel;

namespace SecureMx.Tests.MailAuth.Spf;

/// <summary>
/// Runs every case of the openspf.org RFC 7208 test suite (rfc7208-tests.yml, from pyspf) through
/// <see cref="SpfEvaluator"/> against its zone data in memory, as pyspf's own driver (testspf.py) does:
/// type SPF records also serve as TXT unless the name has TXT records ("TXT: NONE" means none), TIMEOUT
/// makes the name's other questions time out, the MAIL FROM result is checked (postmaster@HELO for an
/// empty one), and an expected explanation is compared ("DEFAULT" where the record gives none).
/// </summary>
public sealed class SpfTestSuiteTests
{
    public sealed record Case(string Id, string Description, string Helo, string Host, string MailFrom, string[] Results, string? Explanation, InMemoryDns Zone)
    {
        public override string ToString() => Id;
    }

    private static readonly Lazy<List<Case>> Cases = new(Load);

    public static TheoryData<string> CaseIds()
    {
        var data = new TheoryData<string>();
        foreach (var c in Cases.Value) data.Add(c.Id);
        return data;
    }

    [Fact]
    public void TheWholeSuiteIsRead()
    {
        // Release 2014.04 has 203 cases; fewer means the YAML was not read the way the driver expects.
        Assert.Equal(203, Cases.Value.Count);
    }

    [Theory]
    [MemberData(nameof(CaseIds))]
    public async Task RfcTestSuiteCase(string id)
    {
        var c = Cases.Value.Single(x => x.Id == id);
        var sender = c.MailFrom.Length == 0 ? "postmaster@" + c.Helo : c.MailFrom;
        var domain = sender[(sender.LastIndexOf('@') + 1)..];
        var verdict = await new SpfEvaluator(c.Zone).CheckHostAsync(IPAddress.Parse(c.Host), domain, sender, c.Helo, "receiver.example", TestContext.Current.CancellationToken);
        Assert.True(c.Results.Contains(verdict.Result.Name()),
            $"{c.Id} ({c.Description}): expected {string.Join(" or ", c.Results)}, got {verdict.Result.Name()} ({verdict.Problem})");
        if (c.Explanation is not null && verdict.Result == SpfResult.Fail)
        {
            // Nibbles of %{i} are a DNS name, whose case does not matter: pyspf writes them in capitals.
            Assert.Equal(c.Explanation, verdict.Explanation ?? "DEFAULT", ignoreCase: true);
        }
    }

    private static List<Case> Load()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(Path.Combine(AppContext.BaseDirectory, "MailAuth", "Spf", "rfc7208-tests.yml")))
        {
            yaml.Load(reader);
        }
        var cases = new List<Case>();
        foreach (var doc in yaml.Documents)
        {
            var root = (YamlMappingNode)doc.RootNode;
            var zone = Zone((YamlMappingNode)root["zonedata"]);
            foreach (var (key, value) in (YamlMappingNode)root["tests"])
            {
                var t = (YamlMappingNode)value;
                string Text(string k) => t.Children.TryGetValue(k, out var n) ? ((YamlScalarNode)n).Value ?? "" : "";
                var results = t["result"] is YamlSequenceNode seq ? seq.Select(n => ((YamlScalarNode)n).Value!).ToArray() : [Text("result")];
                cases.Add(new Case(((YamlScalarNode)key).Value!, Text("description").Trim(), Text("helo"), Text("host"), Text("mailfrom"), results,
                    t.Children.ContainsKey("explanation") ? Text("explanation") : null, zone));
            }
        }
        return cases;
    }

    private static InMemoryDns Zone(YamlMappingNode zonedata)
    {
        var dns = new InMemoryDns();
        foreach (var (nameNode, recordsNode) in zonedata)
        {
            var name = ((YamlScalarNode)nameNode).Value!;
            var entries = ((YamlSequenceNode)recordsNode).ToList();
            bool hasTxt = entries.OfType<YamlMappingNode>().Any(m => m.Children.Keys.Any(k => ((YamlScalarNode)k).Value == "TXT"));
            dns.Add(name, "_present", ""); // a listed name exists even when it has no records (NODATA, not NXDOMAIN)
            foreach (var entry in entries)
            {
                if (entry is YamlScalarNode { Value: "TIMEOUT" })
                {
                    dns.Timeout(name);
                    continue;
                }
                foreach (var (typeNode, v) in (YamlMappingNode)entry)
                {
                    var type = ((YamlScalarNode)typeNode).Value!;
                    if (v is YamlScalarNode { Value: "TIMEOUT" })
                    {
                        dns.Timeout(name, type);
                        continue;
                    }
                    switch (type)
                    {
                        case "SPF" or "TXT":
                            var text = v is YamlSequenceNode parts ? string.Concat(parts.Select(p => ((YamlScalarNode)p).Value)) : ((YamlScalarNode)v).Value!;
                            if (text == "NONE") break;
                            // Type SPF is gone in RFC 7208 (§3.1); the driver serves it as TXT unless the name has TXT of its own.
                            if (type == "TXT" || !hasTxt) dns.Txt(name, text);
                            break;
                        case "A" or "AAAA":
                            dns.Add(name, type, IPAddress.Parse(((YamlScalarNode)v).Value!));
                            break;
                        case "MX":
                            var mx = (YamlSequenceNode)v;
                            dns.Add(name, "MX", new MxRecordData(int.Parse(((YamlScalarNode)mx[0]).Value!, System.Globalization.CultureInfo.InvariantCulture), ((YamlScalarNode)mx[1]).Value!.TrimEnd('.')));
                            break;
                        case "PTR" or "CNAME":
                            dns.Add(name, type, ((YamlScalarNode)v).Value!);
                            break;
                        default:
                            throw new InvalidDataException($"zone record type {type} at {name}");
                    }
                }
            }
        }
        return dns;
    }
}
