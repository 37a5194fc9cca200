using System.CommandLine;
using SecureMx.Dkim;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>
/// securemx dkim add|list|remove: the DKIM keys of the hosted domains. Mail of the domain's accounts (and
/// `sendmail`) is signed with every active key from the next message on; a running server needs no restart.
/// </summary>
public static class DkimCommands
{
    public static Command Create() => Create(TimeProvider.System);

    internal static Command Create(TimeProvider time)
    {
        var cmd = new Command("dkim", "DKIM keys of the hosted domains (mail of their accounts is signed with each active key)");
        cmd.Subcommands.Add(Add(time));
        cmd.Subcommands.Add(List(time));
        cmd.Subcommands.Add(Remove(time));
        cmd.Subcommands.Add(Rotate(time));
        return cmd;
    }

    private static Command Rotate(TimeProvider time)
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var cmd = new Command("rotate", "make the next key of each kind that signs now, pending until its TXT record is seen in DNS; then it signs and the old one retires") { domain, data };
        cmd.SetAction(p =>
        {
            var d = StoreCommands.ParseDomain(p.GetValue(domain)!);
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            InstanceOwner.DropTo(dir);
            var db = CliOptions.OpenStore(dir);
            var creation = new DkimKeyCreation(new DkimKeyRepository(db, time), DkimPrivateKeyStore.For(db, SecureMx.Dashboard.DashboardKeyRingKey.Reader(db.DataDirectory)), time);
            foreach (var key in StoreCommands.WrapStore(() => creation.Rotate(d)))
            {
                Console.WriteLine($"DKIM key {key.Selector} ({key.Algorithm.Name()}) of {key.Domain} added, pending; publish:");
                Console.WriteLine(DkimKeyRecord.ZoneFileLine(key));
            }
            Console.WriteLine("the running server checks DNS every few minutes: once a pending key's record is there, it signs and the key it replaces retires (its record stays listed by dns-records until it may be removed)");
            return 0;
        });
        return cmd;
    }

    private static Command Add(TimeProvider time)
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var selector = new Option<string?>("--selector") { Description = "the selector (default: dated, sYYYYMMDD-rsa or sYYYYMMDD-ed)", HelpName = "S" };
        var algorithm = new Option<string>("--algorithm") { Description = "rsa-2048 (default) or ed25519", HelpName = "ALG", DefaultValueFactory = _ => "rsa-2048" };
        var cmd = new Command("add", "make a key for a domain; it signs at once: publish its TXT record (printed) before mail goes out") { domain, selector, algorithm, data };
        cmd.SetAction(p =>
        {
            var d = StoreCommands.ParseDomain(p.GetValue(domain)!);
            var text = p.GetValue(algorithm)!;
            if (!DkimAlgorithms.TryParse(text, out var alg)) throw new CliException($"'{text}' is not a DKIM algorithm: use rsa-2048 or ed25519");
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            InstanceOwner.DropTo(dir); // the key file belongs to the instance's user
            var db = CliOptions.OpenStore(dir);
            var creation = new DkimKeyCreation(new DkimKeyRepository(db, time), DkimPrivateKeyStore.For(db, SecureMx.Dashboard.DashboardKeyRingKey.Reader(db.DataDirectory)), time);
            var key = StoreCommands.WrapStore(() => creation.Create(d, p.GetValue(selector), alg, DkimKeyState.Active));
            Console.WriteLine($"DKIM key {key.Selector} ({key.Algorithm.Name()}) of {key.Domain} added, active; publish:");
            Console.WriteLine(DkimKeyRecord.ZoneFileLine(key));
            return 0;
        });
        return cmd;
    }

    private static Command List(TimeProvider time)
    {
        var data = CliOptions.Data();
        var domain = new Argument<string?>("DOMAIN") { Description = "only this domain", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("list", "list DKIM keys: DOMAIN<TAB>SELECTOR<TAB>ALGORITHM<TAB>STATE<TAB>CREATED") { domain, data };
        cmd.SetAction(p =>
        {
            var d = p.GetValue(domain) is { } text ? StoreCommands.ParseDomain(text) : null;
            var keys = new DkimKeyRepository(CliOptions.OpenStoreForReading(CliOptions.RequireInstance(p.GetValue(data)!)), time);
            if (d is not null && !keys.IsHosted(d)) throw new CliException($"{d} is not a hosted domain");
            foreach (var k in keys.List(d))
                Console.WriteLine($"{k.Domain}\t{k.Selector}\t{k.Algorithm.Name()}\t{k.State.Name()}\t{k.CreatedAt.UtcDateTime:yyyy-MM-dd'T'HH:mm:ss'Z'}");
            return 0;
        });
        return cmd;
    }

    private static Command Remove(TimeProvider time)
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var selector = new Argument<string>("SELECTOR");
        var cmd = new Command("remove", "delete a key (it stops signing at once; mail it signed no longer verifies once its record is gone)") { domain, selector, data };
        cmd.SetAction(p =>
        {
            var d = StoreCommands.ParseDomain(p.GetValue(domain)!);
            var s = DkimSelector.Normalize(p.GetValue(selector)!) ?? throw new CliException($"'{p.GetValue(selector)}' is not a valid selector");
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            InstanceOwner.DropTo(dir);
            var db = CliOptions.OpenStore(dir);
            if (!new DkimKeyRepository(db, time).Remove(d, s)) throw new CliException($"{d} has no DKIM key with selector {s}");
            DkimPrivateKeyStore.For(db, SecureMx.Dashboard.DashboardKeyRingKey.Reader(db.DataDirectory)).Delete(d, s);
            Console.WriteLine($"DKIM key {s} of {d} removed; its record {s}._domainkey.{d} may be removed from DNS");
            return 0;
        });
        return cmd;
    }
}
