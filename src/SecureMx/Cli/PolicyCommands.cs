using System.CommandLine;
using SecureMx.Mail;
using SecureMx.Policy;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// securemx policy inbound|outbound|destination|show: the mandatory-TLS switches (DESIGN.md §3).
/// A running server reads them at the next RCPT and the next delivery attempt: no restart.
/// Every change is recorded with who made it (the Unix user for the CLI) in the policy audit.
/// </summary>
public static class PolicyCommands
{
    internal static string Actor => "cli:" + Environment.UserName;

    public static Command Create()
    {
        var cmd = new Command("policy", "mandatory TLS: inbound per domain, outbound per domain, account and destination");
        cmd.Subcommands.Add(Inbound());
        cmd.Subcommands.Add(Outbound());
        cmd.Subcommands.Add(Destination());
        cmd.Subcommands.Add(Show());
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
            bool mandatory = p.GetValue(value)!.ToLowerInvariant() switch
            {
                SecureMxStore.InboundMandatory => true,
                SecureMxStore.InboundOpportunistic => false,
                var other => throw new CliException($"'{other}': use mandatory or opportunistic"),
            };
            var store = CliOptions.OpenStore(CliOptions.RequireInstance(p.GetValue(data)!));
            var old = StoreCommands.WrapStore(() => store.SetInboundTls(d, mandatory, Actor));
            Console.WriteLine($"inbound TLS of {d}: {old} -> {(mandatory ? SecureMxStore.InboundMandatory : SecureMxStore.InboundOpportunistic)}");
            if (mandatory) Console.WriteLine("note: senders without TLS 1.2+ and secure ciphers now get a permanent error; their mail is not accepted and cannot be recovered.");
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
            bool mandatory = p.GetValue(value)!.ToLowerInvariant() switch
            {
                SecureMxStore.OutboundMandatory => true,
                SecureMxStore.OutboundDefault => false,
                var other => throw new CliException($"'{other}': use mandatory or default"),
            };
            var store = CliOptions.OpenStore(CliOptions.RequireInstance(p.GetValue(data)!));
            var text = p.GetValue(subject)!.Trim();
            string key, old;
            if (text.Contains('@'))
            {
                key = ParseAddress(text);
                old = StoreCommands.WrapStore(() => store.SetMailboxOutboundTls(key, mandatory, Actor));
            }
            else
            {
                key = ParseDomain(text);
                old = StoreCommands.WrapStore(() => store.SetDomainOutboundTls(key, mandatory, Actor));
            }
            Console.WriteLine($"outbound TLS of {key}: {old} -> {(mandatory ? SecureMxStore.OutboundMandatory : SecureMxStore.OutboundDefault)}");
            if (mandatory) Console.WriteLine("note: mail to servers without TLS 1.2+ and secure ciphers is deferred; the sender is warned after about 1 hour and it bounces after 24 hours (queue.delayWarningAfter, queue.tlsExpireAfter).");
            return 0;
        });
        return cmd;
    }

    private static Command Destination()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a recipient domain" };
        var value = new Argument<string>("LEVEL") { Description = OutboundTlsLevels.AllNames + ", or remove" };
        var cmd = new Command("destination", "the TLS level for all mail to a recipient domain (the destination table)") { domain, value, data };
        cmd.SetAction(p =>
        {
            var d = ParseDomain(p.GetValue(domain)!);
            var text = p.GetValue(value)!.Trim();
            string? level = null;
            if (!text.Equals("remove", StringComparison.OrdinalIgnoreCase))
            {
                if (!OutboundTlsLevels.TryParse(text, out var parsed)) throw new CliException($"'{text}': use one of {OutboundTlsLevels.AllNames}, or remove");
                level = parsed.Name();
            }
            var store = CliOptions.OpenStore(CliOptions.RequireInstance(p.GetValue(data)!));
            var old = StoreCommands.WrapStore(() => store.SetDestinationTls(d, level, Actor));
            Console.WriteLine($"destination {d}: {(old.Length == 0 ? "(none)" : old)} -> {level ?? "(none)"}");
            return 0;
        });
        return cmd;
    }

    private static Command Show()
    {
        var data = CliOptions.Data();
        var subject = new Argument<string?>("DOMAIN|ADDRESS") { Arity = ArgumentArity.ZeroOrOne, Description = "a domain (hosted or a destination) or a mailbox" };
        var cmd = new Command("show", "the effective TLS policy, and where each part comes from") { subject, data };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            var store = CliOptions.OpenStore(dir);
            var policy = new OutboundTlsPolicy(store, options.Delivery);
            var text = p.GetValue(subject)?.Trim();
            if (string.IsNullOrEmpty(text)) ShowAll(store, policy);
            else if (text.Contains('@')) ShowAccount(store, policy, ParseAddress(text));
            else ShowDomain(store, policy, ParseDomain(text));
            return 0;
        });
        return cmd;
    }

    private static void ShowAll(SecureMxStore store, OutboundTlsPolicy policy)
    {
        Console.WriteLine($"outbound default level: {policy.DefaultLevel.Name()} (delivery.defaultTlsLevel); DNSSEC-secure TLSA records always force DANE");
        foreach (var (d, inbound, outbound) in store.DomainTlsSettings())
        {
            Console.WriteLine($"domain {d}: inbound {inbound}, outbound {outbound}");
            PrintMandatoryAccounts(store, d);
        }
        foreach (var (d, level) in store.ListDestinationTls()) Console.WriteLine($"destination {d}: {level}");
    }

    private static void ShowDomain(SecureMxStore store, OutboundTlsPolicy policy, string domain)
    {
        var inbound = store.DomainInboundTls(domain);
        if (inbound is not null)
        {
            Console.WriteLine($"domain {domain} (hosted)");
            Console.WriteLine($"  inbound:  {inbound}" + (inbound == SecureMxStore.InboundMandatory
                ? " (RCPT on every listener only in a TLS 1.2+ session with secure ciphers; else 550 5.7.1)"
                : " (STARTTLS offered, plaintext accepted)"));
            Console.WriteLine($"  outbound: {store.DomainOutboundTls(domain)} (domain setting)");
            PrintEffective("  mail from this domain", policy.For(null, "postmaster@" + domain, "any-destination.invalid"));
            PrintMandatoryAccounts(store, domain);
        }
        var destination = store.DestinationTls(domain);
        if (destination is not null || inbound is null)
        {
            Console.WriteLine($"destination {domain}: {destination ?? "no entry in the destination table"}");
            PrintEffective("  mail to this domain (sender without mandatory TLS)", policy.For(null, "", domain));
        }
        PrintAudit(store, domain);
    }

    private static void ShowAccount(SecureMxStore store, OutboundTlsPolicy policy, string address)
    {
        var own = store.MailboxOutboundTls(address) ?? throw new CliException($"mailbox {address} does not exist");
        var domain = address[(address.LastIndexOf('@') + 1)..];
        Console.WriteLine($"account {address}");
        Console.WriteLine($"  outbound: {own} (account setting); domain {domain}: {store.DomainOutboundTls(domain)}");
        Console.WriteLine($"  inbound:  {store.DomainInboundTls(domain)} (set per domain, never per mailbox)");
        PrintEffective("  mail from this account", policy.For(address, address, "any-destination.invalid"));
        PrintAudit(store, address);
    }

    private static void PrintMandatoryAccounts(SecureMxStore store, string domain)
    {
        foreach (var (address, _) in store.MailboxOutboundTlsOf(domain).Where(m => m.Outbound == SecureMxStore.OutboundMandatory))
            Console.WriteLine($"  account {address}: outbound mandatory");
    }

    private static void PrintEffective(string what, EffectiveTlsPolicy effective)
    {
        Console.WriteLine($"{what}: {effective.Level.Name()} (strictest of:)");
        foreach (var s in effective.Sources) Console.WriteLine($"    {s.Level.Name(),-9} from {s.Origin}{(ReferenceEquals(s, effective.Decisive) ? "  <- decides" : "")}");
        Console.WriteLine("    DNSSEC-secure TLSA records of an MX host force DANE on top (per host, at delivery)");
    }

    private static void PrintAudit(SecureMxStore store, string subject)
    {
        var changes = store.PolicyAudit(subject, 10);
        if (changes.Count == 0) return;
        Console.WriteLine("  recent changes:");
        foreach (var c in changes) Console.WriteLine($"    {c.At:yyyy-MM-ddTHH:mm:ssZ} {c.Actor}: {c.Subject} {c.Setting} {(c.OldValue.Length == 0 ? "(none)" : c.OldValue)} -> {(c.NewValue.Length == 0 ? "(none)" : c.NewValue)}");
    }

    private static string ParseDomain(string text) => StoreCommands.ParseDomain(text);

    private static string ParseAddress(string text) => StoreCommands.ParseAddress(text).LookupKey;
}
