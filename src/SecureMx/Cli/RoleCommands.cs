using System.CommandLine;

namespace SecureMx.Cli;

/// <summary>
/// securemx admin add|remove|list and securemx domain admin add|remove|list: who may use the
/// dashboard beyond their own account. Effective at the next dashboard request.
/// </summary>
public static class RoleCommands
{
    /// <summary>securemx admin: system administrators (every domain, every account, the destination table).</summary>
    public static Command SystemAdmin()
    {
        var data = CliOptions.Data();
        var address = new Argument<string>("ADDRESS") { Description = "a hosted mailbox" };
        var cmd = new Command("admin", "system administrators of the dashboard");
        var add = new Command("add", "make a mailbox a system administrator") { address, data };
        add.SetAction(p =>
        {
            var a = StoreCommands.ParseAddress(p.GetValue(address)!).LookupKey;
            StoreCommands.WrapStore(() => { Open(p, data).AddSystemAdmin(a, PolicyCommands.Actor); return 0; });
            Console.WriteLine($"{a} is now a system administrator");
            return 0;
        });
        var remove = new Command("remove", "take the role away (effective at the next request)") { address, data };
        remove.SetAction(p =>
        {
            var a = StoreCommands.ParseAddress(p.GetValue(address)!).LookupKey;
            StoreCommands.WrapStore(() => { Open(p, data).RemoveSystemAdmin(a, PolicyCommands.Actor); return 0; });
            Console.WriteLine($"{a} is no longer a system administrator");
            return 0;
        });
        var list = new Command("list", "system administrators, one per line") { data };
        list.SetAction(p =>
        {
            foreach (var a in Open(p, data).ListSystemAdmins()) Console.WriteLine(a);
            return 0;
        });
        cmd.Subcommands.Add(add);
        cmd.Subcommands.Add(remove);
        cmd.Subcommands.Add(list);
        return cmd;
    }

    /// <summary>securemx domain admin: administrators of one domain (its policies, accounts, log and queue).</summary>
    public static Command DomainAdmin()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var address = new Argument<string>("ADDRESS") { Description = "a hosted mailbox (of any domain)" };
        var cmd = new Command("admin", "administrators of a domain in the dashboard");
        var add = new Command("add", "let a mailbox administer a domain") { domain, address, data };
        add.SetAction(p =>
        {
            var d = StoreCommands.ParseDomain(p.GetValue(domain)!);
            var a = StoreCommands.ParseAddress(p.GetValue(address)!).LookupKey;
            StoreCommands.WrapStore(() => { Open(p, data).AddDomainAdmin(d, a, PolicyCommands.Actor); return 0; });
            Console.WriteLine($"{a} now administers {d}");
            return 0;
        });
        var remove = new Command("remove", "take the role away (effective at the next request)") { domain, address, data };
        remove.SetAction(p =>
        {
            var d = StoreCommands.ParseDomain(p.GetValue(domain)!);
            var a = StoreCommands.ParseAddress(p.GetValue(address)!).LookupKey;
            StoreCommands.WrapStore(() => { Open(p, data).RemoveDomainAdmin(d, a, PolicyCommands.Actor); return 0; });
            Console.WriteLine($"{a} no longer administers {d}");
            return 0;
        });
        var list = new Command("list", "the domain's administrators, one per line") { domain, data };
        list.SetAction(p =>
        {
            foreach (var a in Open(p, data).ListDomainAdmins(StoreCommands.ParseDomain(p.GetValue(domain)!))) Console.WriteLine(a);
            return 0;
        });
        cmd.Subcommands.Add(add);
        cmd.Subcommands.Add(remove);
        cmd.Subcommands.Add(list);
        return cmd;
    }

    private static Store.SecureMxStore Open(ParseResult p, Option<string> data) => CliOptions.OpenStore(CliOptions.RequireInstance(p.GetValue(data)!));
}
