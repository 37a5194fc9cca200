using System.CommandLine;
using static SecureMx.Cli.StoreCommands;

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
        cmd.Subcommands.Add(Action(new Command("add", "make a mailbox a system administrator") { address, data }, p =>
        {
            var a = ParseAddress(p.GetValue(address)!).LookupKey;
            WrapStore(() => OpenRoles(p.GetValue(data)!).AddSystemAdmin(a, PolicyCommands.Actor));
            Console.WriteLine($"{a} is now a system administrator");
        }));
        cmd.Subcommands.Add(Action(new Command("remove", "take the role away (effective at the next request)") { address, data }, p =>
        {
            var a = ParseAddress(p.GetValue(address)!).LookupKey;
            WrapStore(() => OpenRoles(p.GetValue(data)!).RemoveSystemAdmin(a, PolicyCommands.Actor));
            Console.WriteLine($"{a} is no longer a system administrator");
        }));
        cmd.Subcommands.Add(Action(new Command("list", "system administrators, one per line") { data }, p =>
        {
            foreach (var a in ReadRoles(p.GetValue(data)!).ListSystemAdmins()) Console.WriteLine(a);
        }));
        return cmd;
    }

    /// <summary>securemx domain admin: administrators of one domain (its policies, accounts, log and queue).</summary>
    public static Command DomainAdmin()
    {
        var data = CliOptions.Data();
        var domain = new Argument<string>("DOMAIN") { Description = "a hosted domain" };
        var address = new Argument<string>("ADDRESS") { Description = "a hosted mailbox (of any domain)" };
        var cmd = new Command("admin", "administrators of a domain in the dashboard");
        cmd.Subcommands.Add(Action(new Command("add", "let a mailbox administer a domain") { domain, address, data }, p =>
        {
            var d = ParseDomain(p.GetValue(domain)!);
            var a = ParseAddress(p.GetValue(address)!).LookupKey;
            WrapStore(() => OpenRoles(p.GetValue(data)!).AddDomainAdmin(d, a, PolicyCommands.Actor));
            Console.WriteLine($"{a} now administers {d}");
        }));
        cmd.Subcommands.Add(Action(new Command("remove", "take the role away (effective at the next request)") { domain, address, data }, p =>
        {
            var d = ParseDomain(p.GetValue(domain)!);
            var a = ParseAddress(p.GetValue(address)!).LookupKey;
            WrapStore(() => OpenRoles(p.GetValue(data)!).RemoveDomainAdmin(d, a, PolicyCommands.Actor));
            Console.WriteLine($"{a} no longer administers {d}");
        }));
        cmd.Subcommands.Add(Action(new Command("list", "the domain's administrators, one per line") { domain, data }, p =>
        {
            foreach (var a in ReadRoles(p.GetValue(data)!).ListDomainAdmins(ParseDomain(p.GetValue(domain)!))) Console.WriteLine(a);
        }));
        return cmd;
    }
}
