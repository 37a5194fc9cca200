using SecureMx.Config;
using System.CommandLine;
using SecureMx.Auth;
using SecureMx.Delivery;
using SecureMx.Mail;
using SecureMx.Store;

namespace SecureMx.Cli;

/// <summary>securemx domain|mailbox|alias: change what the instance hosts. A running server sees changes on the next RCPT.</summary>
public static class StoreCommands
{
    internal static MailboxRepository OpenMailboxes(string data) => new(CliOptions.OpenStore(CliOptions.RequireInstance(data)), TimeProvider.System);

    internal static TlsPolicyRepository OpenPolicies(string data) => new(CliOptions.OpenStore(CliOptions.RequireInstance(data)), TimeProvider.System);

    internal static RoleRepository OpenRoles(string data) => new(CliOptions.OpenStore(CliOptions.RequireInstance(data)), TimeProvider.System);

    // For the commands that only read (lists, shows): the store opened read-only, which works on a full disk.
    internal static MailboxRepository ReadMailboxes(string data) => new(CliOptions.OpenStoreForReading(CliOptions.RequireInstance(data)), TimeProvider.System);

    internal static TlsPolicyRepository ReadPolicies(string data) => new(CliOptions.OpenStoreForReading(CliOptions.RequireInstance(data)), TimeProvider.System);

    internal static RoleRepository ReadRoles(string data) => new(CliOptions.OpenStoreForReading(CliOptions.RequireInstance(data)), TimeProvider.System);

    internal static string ParseDomain(string text)
    {
        var d = EnvelopeAddress.NormalizeDomain(text.Trim());
        if (d is null || d.Length == 0) throw new CliException($"'{text}' is not a valid domain name");
        return d;
    }

    /// <summary>An address as the store keys it: lower-case local part, A-label domain.</summary>
    internal static EnvelopeAddress ParseAddress(string text)
    {
        if (SmtpAddressParser.TryParseMailbox(text.Trim(), allowUtf8: true, out var a) != SmtpAddressParser.Error.None || a.IsAddressLiteral)
            throw new CliException($"'{text}' is not a valid mail address (local@domain)");
        return a;
    }

    internal static Command Action(Command cmd, Action<ParseResult> action)
    {
        cmd.SetAction(p => { action(p); return 0; });
        return cmd;
    }

    public static Command Domain()
    {
        var data = CliOptions.Data();
        var name = new Argument<string>("DOMAIN");
        var domain = new Command("domain", "hosted domains");
        var add = new Command("add", "host a domain (mail for it is accepted from now on)") { name, data };
        domain.Subcommands.Add(Action(add, p =>
        {
            var d = ParseDomain(p.GetValue(name)!);
            WrapStore(() => OpenMailboxes(p.GetValue(data)!).AddDomain(d));
            Console.WriteLine($"domain {d} added");
        }));
        var remove = new Command("remove", "stop hosting a domain (it must have no mailboxes or aliases left)") { name, data };
        domain.Subcommands.Add(Action(remove, p =>
        {
            var d = ParseDomain(p.GetValue(name)!);
            WrapStore(() => OpenMailboxes(p.GetValue(data)!).RemoveDomain(d));
            Console.WriteLine($"domain {d} removed");
        }));
        var list = new Command("list", "list hosted domains, one per line") { data };
        domain.Subcommands.Add(Action(list, p =>
        {
            foreach (var d in ReadMailboxes(p.GetValue(data)!).ListDomains()) Console.WriteLine(d);
        }));
        domain.Subcommands.Add(RoleCommands.DomainAdmin());
        return domain;
    }

    public static Command Mailbox()
    {
        var data = CliOptions.Data();
        var address = new Argument<string>("ADDRESS");
        var passwordStdin = new Option<bool>("--password-stdin") { Description = "read the password from the first line of standard input" };
        var domainFilter = new Option<string?>("--domain") { Description = "only this domain", HelpName = "DOMAIN" };
        var mailbox = new Command("mailbox", "mailboxes (a Maildir under DIR/mail/DOMAIN/LOCAL)");
        var add = new Command("add", "create a mailbox") { address, data, passwordStdin };
        // Both commands: the address, the store, then the password hash (never from the command line).
        (EnvelopeAddress, MailboxRepository, string) AddressStoreAndHash(ParseResult p, string command)
        {
            if (!p.GetValue(passwordStdin)) throw new CliException($"mailbox {command} needs --password-stdin (the password is read from standard input, never from the command line)");
            var a = ParseAddress(p.GetValue(address)!);
            var store = OpenMailboxes(p.GetValue(data)!);
            return (a, store, PasswordHash.Create(ReadPassword(Console.In)));
        }
        mailbox.Subcommands.Add(Action(add, p =>
        {
            var (a, store, hash) = AddressStoreAndHash(p, "add");
            // The Maildir gets delivery.mailFileMode and delivery.mailGroup, as deliveries would give it.
            var access = CliOptions.MailFileAccess(CliOptions.LoadConfig(store.DataDirectory));
            var info = WrapStore(() => store.AddMailbox(a.LocalPart, a.Domain, hash));
            MaildirDelivery.EnsureMaildir(store.DataDirectory, Path.Combine(store.DataDirectory, info.Maildir), access);
            Console.WriteLine($"mailbox {info.Address} added ({info.Maildir})");
        }));
        var passwd = new Command("passwd", "set a new password (effective at once, also for a running server)") { address, data, passwordStdin };
        mailbox.Subcommands.Add(Action(passwd, p =>
        {
            var (a, store, hash) = AddressStoreAndHash(p, "passwd");
            WrapStore(() => store.SetPasswordHash(a.LookupKey, hash));
            Console.WriteLine($"password of {a.LookupKey} changed");
        }));
        var remove = new Command("remove", "delete a mailbox from the store (its Maildir is kept on disk)") { address, data };
        mailbox.Subcommands.Add(Action(remove, p =>
        {
            var a = ParseAddress(p.GetValue(address)!);
            WrapStore(() => OpenMailboxes(p.GetValue(data)!).RemoveMailbox(a.LookupKey));
            Console.WriteLine($"mailbox {a.LookupKey} removed");
        }));
        var list = new Command("list", "list mailboxes: ADDRESS<TAB>MAILDIR") { data, domainFilter };
        mailbox.Subcommands.Add(Action(list, p =>
        {
            var filter = p.GetValue(domainFilter) is { } d ? ParseDomain(d) : null;
            foreach (var m in ReadMailboxes(p.GetValue(data)!).ListMailboxes(filter)) Console.WriteLine($"{m.Address}\t{m.Maildir}");
        }));
        mailbox.Subcommands.Add(MailboxLanguage(address, data));
        return mailbox;
    }

    /// <summary>securemx mailbox language ADDRESS [en|de]: shows or sets the language of the DSNs the mailbox receives.</summary>
    private static Command MailboxLanguage(Argument<string> address, Option<string> data)
    {
        var words = string.Join("|", MailLanguages.All.Select(l => l.Name()));
        var value = new Argument<string?>("LANGUAGE") { Description = $"{words}; without it, the current one is shown", Arity = ArgumentArity.ZeroOrOne };
        var cmd = new Command("language", $"show or set the language of the mail SecureMx sends the mailbox (DSNs): {words}") { address, value, data };
        return Action(cmd, p =>
        {
            var a = ParseAddress(p.GetValue(address)!);
            var text = p.GetValue(value);
            var store = text is null ? ReadMailboxes(p.GetValue(data)!) : OpenMailboxes(p.GetValue(data)!);
            if (text is null)
            {
                var current = store.MailboxLanguage(a.LookupKey) ?? throw new CliException($"mailbox {a.LookupKey} does not exist");
                Console.WriteLine(current.Name());
                return;
            }
            if (!MailLanguages.TryParse(text, out var language)) throw new CliException($"'{text}' is not a language SecureMx writes mail in ({words})");
            WrapStore(() => store.SetMailboxLanguage(a.LookupKey, language));
            Console.WriteLine($"language of {a.LookupKey} set to {language.Name()}");
        });
    }

    public static Command Alias()
    {
        var data = CliOptions.Data();
        var alias = new Argument<string>("ALIAS");
        var target = new Argument<string>("TARGET") { Description = "a hosted mailbox" };
        var optionalTarget = new Argument<string?>("TARGET") { Description = "remove only this target", Arity = ArgumentArity.ZeroOrOne };
        var domainFilter = new Option<string?>("--domain") { Description = "only this domain", HelpName = "DOMAIN" };
        var cmd = new Command("alias", "aliases: an address on a hosted domain that delivers to one or more mailboxes");
        var add = new Command("add", "add a target to an alias (run again for more targets)") { alias, target, data };
        cmd.Subcommands.Add(Action(add, p =>
        {
            var a = ParseAddress(p.GetValue(alias)!);
            var t = ParseAddress(p.GetValue(target)!);
            WrapStore(() => OpenMailboxes(p.GetValue(data)!).AddAlias(a.LookupKey, a.Domain, t.LookupKey));
            Console.WriteLine($"alias {a.LookupKey} -> {t.LookupKey} added");
        }));
        var remove = new Command("remove", "remove an alias, or one of its targets") { alias, optionalTarget, data };
        cmd.Subcommands.Add(Action(remove, p =>
        {
            var a = ParseAddress(p.GetValue(alias)!);
            var t = p.GetValue(optionalTarget) is { } tt ? ParseAddress(tt).LookupKey : null;
            WrapStore(() => OpenMailboxes(p.GetValue(data)!).RemoveAlias(a.LookupKey, t));
            Console.WriteLine(t is null ? $"alias {a.LookupKey} removed" : $"alias {a.LookupKey} -> {t} removed");
        }));
        var list = new Command("list", "list aliases: ALIAS<TAB>TARGET") { data, domainFilter };
        cmd.Subcommands.Add(Action(list, p =>
        {
            var filter = p.GetValue(domainFilter) is { } d ? ParseDomain(d) : null;
            foreach (var x in ReadMailboxes(p.GetValue(data)!).ListAliases(filter)) Console.WriteLine($"{x.Address}\t{x.Target}");
        }));
        return cmd;
    }

    /// <summary>The first line of <paramref name="input"/> as a new password, if it meets <see cref="PasswordRule"/>.</summary>
    internal static string ReadPassword(TextReader input)
    {
        var line = input.ReadLine();
        return PasswordRule.Check(line) switch
        {
            PasswordProblem.None => line!,
            PasswordProblem.Empty => throw new CliException("no password on standard input"),
            _ => throw new CliException($"password too short (at least {PasswordRule.MinimumLength} characters)"),
        };
    }

    internal static void WrapStore(Action a) => WrapStore(() => { a(); return 0; });

    /// <summary>Runs a store operation; an operator mistake it reports becomes the CLI's one-line error.</summary>
    internal static T WrapStore<T>(Func<T> f)
    {
        try { return f(); }
        catch (StoreException ex) { throw new CliException(ex.Message); }
    }
}
