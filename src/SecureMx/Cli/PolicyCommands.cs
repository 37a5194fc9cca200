using System.CommandLine;
using SecureMx.Config;
using SecureMx.Mail;
using SecureMx.MtaSts;
using SecureMx.Policy;
using SecureMx.Store;
using SecureMx.Tls;

namespace SecureMx.Cli;

/// <summary>
/// securemx policy inbound|outbound|destination|mta-sts|dmarc|show: the mandatory-TLS switches, the destination table, and DMARC enforcement.
/// A running server reads them at the next RCPT and the next delivery attempt: no restart.
/// Every change is recorded with who made it (the Unix user for the CLI) in the policy audit.
/// </summary>
public static class PolicyCommands
{
    internal static string Actor => "cli:" + Environment.UserName;

    public static Command Create() => Create(TimeProvider.System);

    /// <summary>The commands on <paramref name="time"/>: the certificate check before enforce and its audit time, and the clock of `policy show`.</summary>
    internal static Command Create(TimeProvider time)
    {
        var cmd = new Command("policy", "mandatory TLS: inbound per domain, outbound per domain, account and destination");
        cmd.Subcommands.Add(Inbound());
        cmd.Subcommands.Add(Outbound());
        cmd.Subcommands.Add(Destination());
        cmd.Subcommands.Add(MtaSts(time));
        cmd.Subcommands.Add(Dmarc());
        cmd.Subcommands.Add(Show(time));
        return cmd;
    }

    private static Command Inbound()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var value = new Argument<string>("SETTING") { Description = "mandatory or opportunistic" };
        var cmd = new Command("inbound", "mandatory: the domain takes mail only over TLS 1.2+ with secure ciphers, on every listener") { domain, value, data };
        cmd.SetAction(p =>
        {
            var d = ParseDomain(p.GetValue(domain)!);
            var text = p.GetValue(value)!;
            if (!InboundTlsSettings.TryParse(text, out var setting)) throw new CliException($"'{text.ToLowerInvariant()}': use mandatory or opportunistic");
            var policies = StoreCommands.OpenPolicies(p.GetValue(data)!);
            var old = StoreCommands.WrapStore(() => policies.SetInboundTls(d, setting, Actor));
            Console.WriteLine($"inbound TLS of {d}: {old.Name()} -> {setting.Name()}");
            if (setting == InboundTlsSetting.Mandatory) Console.WriteLine("note: senders without TLS 1.2+ and secure ciphers now get a permanent error; their mail is not accepted and cannot be recovered.");
            return 0;
        });
        return cmd;
    }

    private static Command Dmarc()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var value = new Argument<string>("SETTING") { Description = "enforce or off" };
        var cmd = new Command("dmarc", "enforce: mail to the domain that fails DMARC where the sender's domain publishes p=reject is refused (550 5.7.1); off: only reported in Authentication-Results") { domain, value, data };
        cmd.SetAction(p =>
        {
            var d = ParseDomain(p.GetValue(domain)!);
            var text = p.GetValue(value)!.ToLowerInvariant();
            if (text is not ("enforce" or "off")) throw new CliException($"'{text}': use enforce or off");
            var policies = StoreCommands.OpenPolicies(p.GetValue(data)!);
            var old = StoreCommands.WrapStore(() => policies.SetDmarcEnforcement(d, text == "enforce", Actor));
            Console.WriteLine($"DMARC of {d}: {old} -> {text}");
            if (text == "enforce") Console.WriteLine("note: only when every recipient of a message enforces is it refused; p=quarantine failures are accepted and marked (dmarc=fail, dis=quarantine).");
            return 0;
        });
        return cmd;
    }

    private static Command Outbound()
    {
        var data = CliOptions.Data();
        var subject = new Argument<string>("DOMAIN|ADDRESS") { Description = "a hosted domain, or a mailbox" };
        var value = new Argument<string>("SETTING") { Description = "mandatory or default" };
        var cmd = new Command("outbound", "mandatory: mail from this domain or account goes only over TLS 1.2+ with secure ciphers (else it waits, then bounces)") { subject, value, data };
        cmd.SetAction(p =>
        {
            var word = p.GetValue(value)!;
            if (!OutboundTlsSettings.TryParse(word, out var setting)) throw new CliException($"'{word.ToLowerInvariant()}': use mandatory or default");
            var policies = StoreCommands.OpenPolicies(p.GetValue(data)!);
            var text = p.GetValue(subject)!.Trim();
            string key;
            OutboundTlsSetting old;
            if (text.Contains('@'))
            {
                key = ParseAddress(text);
                old = StoreCommands.WrapStore(() => policies.SetMailboxOutboundTls(key, setting, Actor));
            }
            else
            {
                key = ParseDomain(text);
                old = StoreCommands.WrapStore(() => policies.SetDomainOutboundTls(key, setting, Actor));
            }
            Console.WriteLine($"outbound TLS of {key}: {old.Name()} -> {setting.Name()}");
            if (setting == OutboundTlsSetting.Mandatory)
            {
                var rules = CliOptions.TryTimeRules(CliOptions.RequireInstance(p.GetValue(data)!), out _);
                var (warn, bounce) = rules is null ? ("queue.delayWarningAfter", "queue.tlsExpireAfter")
                    : ($"{Duration.Format(rules.DelayWarningAfter)} (queue.delayWarningAfter)", $"{Duration.Format(rules.TlsExpireAfter)} (queue.tlsExpireAfter)");
                Console.WriteLine($"note: mail to servers without TLS 1.2+ and secure ciphers is deferred; the sender is warned after {warn} and it bounces after {bounce}.");
            }
            return 0;
        });
        return cmd;
    }

    private static Command Destination()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a recipient domain" };
        var value = new Argument<string>("LEVEL") { Description = OutboundTlsLevels.AllNames + ", or remove" };
        var cmd = new Command("destination", "the TLS level for all mail to a recipient domain (the destination table): " + DestinationRule) { domain, value, data };
        cmd.SetAction(p =>
        {
            var d = ParseDomain(p.GetValue(domain)!);
            var text = p.GetValue(value)!.Trim();
            OutboundTlsLevel? level = null;
            if (!text.Equals("remove", StringComparison.OrdinalIgnoreCase))
            {
                if (!OutboundTlsLevels.TryParse(text, out var parsed)) throw new CliException($"'{text}': use one of {OutboundTlsLevels.AllNames}, or remove");
                level = parsed;
            }
            var policies = StoreCommands.OpenPolicies(p.GetValue(data)!);
            var old = StoreCommands.WrapStore(() => policies.SetDestinationTls(d, level, Actor));
            Console.WriteLine($"destination {d}: {old?.Name() ?? "(none)"} -> {level?.Name() ?? "(none)"}");
            if (level is { } set) Console.WriteLine($"note: {set.Name()} replaces the global default for mail to {d}; a sender's mandatory TLS still applies"
                + (set < OutboundTlsLevel.Dane ? $", and DNSSEC-secure TLSA records of {d}'s MX hosts are not used." : "."));
            return 0;
        });
        return cmd;
    }

    private static Command MtaSts(TimeProvider time)
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var value = new Argument<string>("MODE") { Description = MtaStsModes.AllNames };
        var force = new Option<bool>("--force") { Description = "enforce although the certificate (tls.certificate) is not valid by PKIX for every listed MX name: senders that enforce the policy will not deliver there" };
        var cmd = new Command("mta-sts", "the MTA-STS policy served for a hosted domain (RFC 8461): enforce tells senders to deliver only to a listed MX over verified TLS; testing only asks for reports; none withdraws it") { domain, value, force, data };
        cmd.SetAction(p => SetMtaSts(CliOptions.RequireInstance(p.GetValue(data)!), p.GetValue(domain)!, p.GetValue(value)!, p.GetValue(force), time, Console.Out));
        return cmd;
    }

    /// <summary>
    /// `policy mta-sts`: enforce is refused (nothing stored) while the certificate is not valid by PKIX for
    /// every MX name the policy lists, unless <paramref name="force"/>: an enforcing sender refuses such an
    /// MX (RFC 8461 §4.2), so the domain's mail from it would not arrive at all.
    /// </summary>
    internal static int SetMtaSts(string dir, string domainText, string modeText, bool force, TimeProvider time, TextWriter output)
    {
        var d = ParseDomain(domainText);
        if (!MtaStsModes.TryParse(modeText, out var mode)) throw new CliException($"'{modeText.Trim().ToLowerInvariant()}': use one of {MtaStsModes.AllNames}");
        var options = CliOptions.LoadConfig(dir);
        var policies = new TlsPolicyRepository(CliOptions.OpenStore(dir), time);
        var before = StoreCommands.WrapStore(() => policies.DomainMtaSts(d));
        IReadOnlyList<(string Host, PkixVerdict Verdict)> verdicts = [];
        if (mode == MtaStsMode.Enforce && before is { } hosted)
        {
            // Checked before anything is stored: the MX names are those of the policy enforce would serve.
            verdicts = MtaStsMxCertificateCheck.Check(dir, options, hosted.Inbound == InboundTlsSetting.Mandatory, time.GetUtcNow());
            if (!MtaStsMxCertificateCheck.AllValid(verdicts) && !force)
                throw new CliException($"MTA-STS of {d} stays {HostedMtaStsPolicies.ParseMode(hosted.MtaStsMode).Name()}: senders that enforce the policy would deliver no mail for {d}, "
                    + "because the certificate (tls.certificate) is not valid from a trusted CA for every MX name the policy lists:"
                    + string.Concat(verdicts.Where(v => !v.Verdict.Valid).Select(v => $"\n  MX {v.Host}: {v.Verdict.Detail}"))
                    + "\ninstall a certificate from a public CA for these names (or use testing); --force switches to enforce anyway");
        }
        var old = HostedMtaStsPolicies.ParseMode(StoreCommands.WrapStore(() => policies.SetDomainMtaStsMode(d, mode.Name(), Actor)));
        output.WriteLine($"MTA-STS of {d}: {old.Name()} -> {mode.Name()}");
        var row = StoreCommands.WrapStore(() => policies.DomainMtaSts(d));
        var policy = HostedMtaStsPolicies.For(d, row?.Inbound ?? InboundTlsSetting.Opportunistic, mode.Name(), options);
        output.WriteLine($"policy id {policy.Id} (mx: {string.Join(", ", policy.Policy.Mx)}; max_age {(long)policy.Policy.MaxAge.TotalSeconds} s); 'securemx dns-records {d}' prints the records to publish");
        if (Endpoint.TryParseQuiet(options.Listeners.MtaSts) is null)
            output.WriteLine("note: the MTA-STS listener is off (listeners.mtaSts, serve --mta-sts ADDR:PORT): nothing serves the policy yet");
        if (mode == MtaStsMode.Enforce)
        {
            output.WriteLine("note: enforce tells sending servers to refuse delivery unless they reach a listed MX over TLS with a certificate valid from a public CA for its name; use testing first.");
            foreach (var (host, verdict) in verdicts)
                output.WriteLine(verdict.Valid ? $"  MX {host}: {verdict.Detail}" : $"warning: MX {host}: {verdict.Detail}; senders that enforce the policy will not deliver there (--force)");
        }
        else if (mode == MtaStsMode.None && old != MtaStsMode.None)
        {
            output.WriteLine($"note: keep the _mta-sts TXT record (with the new id) and the listener for max_age after this change, so that senders learn mode none (RFC 8461 §8.3); then remove both records");
        }
        return 0;
    }

    /// <summary>The rule, in one sentence (the command's help, `policy show`, the README).</summary>
    internal const string DestinationRule =
        "an entry replaces the global default for its domain, stricter or more lenient; the strictest of that and the sender's settings applies, "
        + "so a sender's mandatory TLS is never lowered; DNSSEC-secure TLSA records force DANE unless the entry is none or may";

    private static Command Show(TimeProvider time)
    {
        var data = CliOptions.Data();
        var subject = new Argument<string?>("DOMAIN|ADDRESS") { Arity = ArgumentArity.ZeroOrOne, Description = "a domain (hosted or a destination) or a mailbox" };
        var cmd = new Command("show", "the effective TLS policy, and where each part comes from") { subject, data };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            var db = CliOptions.OpenStoreForReading(dir);
            var policies = new TlsPolicyRepository(db, time);
            var outbound = new OutboundTlsPolicy(policies, options.Delivery);
            var text = p.GetValue(subject)?.Trim();
            var now = time.GetUtcNow();
            if (string.IsNullOrEmpty(text)) ShowAll(policies, outbound, new MtaStsPolicyRepository(db), now);
            else if (text.Contains('@')) ShowAccount(policies, outbound, ParseAddress(text));
            else ShowDomain(policies, outbound, ParseDomain(text), new MtaStsPolicyRepository(db), now);
            return 0;
        });
        return cmd;
    }

    private static void ShowAll(TlsPolicyRepository policies, OutboundTlsPolicy outbound, MtaStsPolicyRepository mtaSts, DateTimeOffset now)
    {
        Console.WriteLine($"outbound default level: {outbound.DefaultLevel.Name()} (delivery.defaultTlsLevel)");
        Console.WriteLine($"destination table: {DestinationRule}");
        foreach (var d in policies.DomainTlsSettings())
        {
            Console.WriteLine($"domain {d.Domain}: inbound {d.Inbound.Name()}, outbound {d.Outbound.Name()}");
            PrintMandatoryAccounts(policies, d.Domain);
        }
        foreach (var d in policies.ListDestinationTls()) Console.WriteLine($"destination {d.Domain}: {d.Level.Name()}");
        foreach (var row in StoreCommands.WrapStore(mtaSts.All)) Console.WriteLine(MtaStsPolicyShow.Summary(row, now));
    }

    private static void ShowDomain(TlsPolicyRepository policies, OutboundTlsPolicy outbound, string domain, MtaStsPolicyRepository mtaSts, DateTimeOffset now)
    {
        var inbound = policies.DomainInboundTls(domain);
        if (inbound is { } setting)
        {
            Console.WriteLine($"domain {domain} (hosted)");
            Console.WriteLine($"  inbound:  {setting.Name()}" + (setting == InboundTlsSetting.Mandatory
                ? " (RCPT on every listener only in a TLS 1.2+ session with secure ciphers; else 550 5.7.1)"
                : " (STARTTLS offered, plaintext accepted)"));
            Console.WriteLine($"  outbound: {policies.DomainOutboundTls(domain)?.Name()} (domain setting)");
            if (policies.DomainMtaSts(domain) is { } served)
                Console.WriteLine($"  mta-sts:  {HostedMtaStsPolicies.ParseMode(served.MtaStsMode).Name()} (the MTA-STS policy served for {domain}; securemx policy mta-sts)");
            Console.WriteLine(policies.DomainEnforcesDmarc(domain)
                ? "  dmarc:    enforce (mail failing DMARC under p=reject is refused with 550 5.7.1 when every recipient enforces; securemx policy dmarc)"
                : "  dmarc:    off (DMARC results only reported in Authentication-Results; securemx policy dmarc)");
            PrintEffective("  mail from this domain", outbound.ForDomain(domain));
            PrintMandatoryAccounts(policies, domain);
        }
        var destination = policies.DestinationTls(domain);
        if (destination is not null || inbound is null)
        {
            Console.WriteLine($"destination {domain}: {destination?.Name() ?? "no entry in the destination table"}");
            var effective = outbound.For(null, "", domain);
            PrintEffective("  mail to this domain (sender without mandatory TLS)", effective);
            // The source mta-sts: the recipient domain's own policy, from the cache in the store.
            foreach (var line in MtaStsPolicyShow.Lines(domain, StoreCommands.WrapStore(() => mtaSts.Get(domain)), effective.UsesDane, now))
                Console.WriteLine(line);
        }
        PrintAudit(policies, domain);
    }

    private static void ShowAccount(TlsPolicyRepository policies, OutboundTlsPolicy outbound, string address)
    {
        var account = outbound.ForAccount(address) ?? throw new CliException($"mailbox {address} does not exist");
        Console.WriteLine($"account {address}");
        Console.WriteLine($"  outbound: {account.Own.Name()} (account setting); domain {account.Domain}: {account.DomainSetting.Name()}");
        Console.WriteLine($"  inbound:  {policies.DomainInboundTls(account.Domain)?.Name()} (set per domain, never per mailbox)");
        PrintEffective("  mail from this account", account.Effective);
        PrintAudit(policies, address);
    }

    private static void PrintMandatoryAccounts(TlsPolicyRepository policies, string domain)
    {
        foreach (var m in policies.MailboxOutboundTlsOf(domain).Where(m => m.Outbound == OutboundTlsSetting.Mandatory))
            Console.WriteLine($"  account {m.Address}: outbound mandatory");
    }

    private static void PrintEffective(string what, EffectiveTlsPolicy effective)
    {
        Console.WriteLine($"{what}: {effective.Level.Name()} (strictest of:)");
        foreach (var s in effective.Sources) Console.WriteLine($"    {s.Level.Name(),-9} from {s.Origin}{(ReferenceEquals(s, effective.Decisive) ? "  <- decides" : "")}");
        if (effective.ReplacedDefault is { } replaced)
            Console.WriteLine($"    the destination entry replaces the {replaced.Origin}, {replaced.Level.Name()}, for this domain");
        Console.WriteLine(effective.UsesDane
            ? "    DNSSEC-secure TLSA records of an MX host force DANE on top (per host, at delivery)"
            : "    DNSSEC-secure TLSA records are not used: the destination entry is below dane");
        Console.WriteLine(effective.UsesDane
            ? "    a recipient domain's MTA-STS policy (enforce) requires a listed MX host and a verified (PKIX) certificate on top (per domain, at delivery)"
            : "    MTA-STS policies are not used: the destination entry is below dane");
    }

    private static void PrintAudit(TlsPolicyRepository policies, string subject)
    {
        var changes = policies.PolicyAudit(subject, 10);
        if (changes.Count == 0) return;
        Console.WriteLine("  recent changes:");
        foreach (var c in changes) Console.WriteLine($"    {c.At:yyyy-MM-ddTHH:mm:ssZ} {c.Actor}: {c.Subject} {c.Setting} {(c.OldValue.Length == 0 ? "(none)" : c.OldValue)} -> {(c.NewValue.Length == 0 ? "(none)" : c.NewValue)}");
    }

    private static string ParseDomain(string text) => StoreCommands.ParseDomain(text);

    private static string ParseAddress(string text) => StoreCommands.ParseAddress(text).LookupKey;
}
