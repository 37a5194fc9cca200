using System.CommandLine;
using System.Net;
using System.Text.Json.Nodes;
using SecureMx.Config;
using SecureMx.Dovecot;
using SecureMx.Spool;

namespace SecureMx.Cli;

/// <summary>
/// securemx dovecot-config: prints the Dovecot 2.3 configuration that serves this instance's
/// mailboxes over IMAP and POP3 and takes its mail over LMTP (<see cref="DovecotConfiguration"/>),
/// writes the SQL file it includes, and records in securemx.json what SecureMx needs to know about
/// it (delivery.lmtp, mailAccess.*, listeners.dovecotPolicy), effective at the next start of serve.
/// </summary>
public static class DovecotConfigCommand
{
    public const string DefaultPolicyEndpoint = "127.0.0.1:2524";

    public static Command Create()
    {
        var data = CliOptions.Data();
        Option<string?> Listener(string name, string production) => new($"--{name}")
        {
            Description = $"ADDR:PORT of Dovecot's {name.ToUpperInvariant()} listener, or off (default: mailAccess.{name} if set, else {production})",
            HelpName = "ADDR:PORT",
        };
        var imap = Listener("imap", "0.0.0.0:143");
        var imaps = Listener("imaps", "0.0.0.0:993");
        var pop3 = Listener("pop3", "0.0.0.0:110");
        var pop3s = Listener("pop3s", "0.0.0.0:995");
        var lmtp = new Option<string?>("--lmtp")
        {
            Description = "where Dovecot's LMTP service listens: unix:PATH or ADDR:PORT (default: delivery.lmtp if set, else unix:DIR/dovecot/lmtp)",
            HelpName = "unix:PATH|ADDR:PORT",
        };
        var cmd = new Command("dovecot-config", "print a Dovecot configuration that serves this instance's mailboxes (IMAP, POP3, LMTP) and point SecureMx at it")
        {
            data, imap, imaps, pop3, pop3s, lmtp,
        };
        cmd.SetAction(p =>
        {
            var dir = CliOptions.RequireInstance(p.GetValue(data)!);
            var options = CliOptions.LoadConfig(dir);
            // The generated passdb/userdb read the SQLite file; Dovecot's pgsql driver would need the
            // store's password in its own configuration, which this command does not write yet.
            if (options.Store.IsShared)
                throw new CliException("dovecot-config writes Dovecot's SQL configuration for the embedded SQLite store only; with a PostgreSQL store, configure Dovecot's pgsql driver on the dovecot_accounts view yourself (README, \"Running several nodes\")");
            var owner = InstanceOwner.Of(dir);
            // Dovecot refuses to read mail as root (and so should anyone): the instance needs a user of its own.
            if (owner.Uid == 0)
                throw new CliException($"{dir} belongs to root, and Dovecot does not read mail as root. Give the instance a user of its own: " +
                    $"useradd --system --home-dir {dir} --shell /usr/sbin/nologin securemx && chown -R securemx: {dir}, then run 'securemx serve' as that user");
            var access = options.MailAccess;
            var listeners = (
                Imap: Choose("--imap", p.GetValue(imap), access.Imap, "0.0.0.0:143"),
                Imaps: Choose("--imaps", p.GetValue(imaps), access.Imaps, "0.0.0.0:993"),
                Pop3: Choose("--pop3", p.GetValue(pop3), access.Pop3, "0.0.0.0:110"),
                Pop3s: Choose("--pop3s", p.GetValue(pop3s), access.Pop3s, "0.0.0.0:995"));
            var lmtpText = p.GetValue(lmtp) ?? (options.Delivery.Lmtp.Length > 0 ? options.Delivery.Lmtp : "unix:" + Path.Combine(dir, "dovecot", "lmtp"));
            var target = ParseLmtp(lmtpText);
            var policyText = Endpoint.TryParseQuiet(options.Listeners.DovecotPolicy) is not null ? options.Listeners.DovecotPolicy : DefaultPolicyEndpoint;

            var instance = new DovecotInstance(
                dir, options.Hostname,
                ConfigLoader.ResolvePath(dir, options.Tls.Certificate), ConfigLoader.ResolvePath(dir, options.Tls.Key),
                listeners.Imap, listeners.Imaps, listeners.Pop3, listeners.Pop3s, target, owner,
                Endpoint.Parse(policyText, "listeners.dovecotPolicy")!, PolicyKey(dir),
                Duration.Parse(options.Auth.FailureDelay, "auth.failureDelay"));

            // Dovecot makes run/ and state/ itself, as root: its base_dir must not belong to the instance's user.
            Directory.CreateDirectory(instance.DovecotDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            DurableFiles.Default.WriteFileAtomic(instance.SqlConfigPath, System.Text.Encoding.UTF8.GetBytes(DovecotConfiguration.SqlFile(instance)));

            UpdateSecureMxJson(dir, target.ToString(), listeners.Imap, listeners.Imaps, listeners.Pop3, listeners.Pop3s, policyText);
            Console.Write(DovecotConfiguration.MainFile(instance));
            Console.Error.WriteLine($"securemx: wrote {instance.SqlConfigPath}");
            Console.Error.WriteLine($"securemx: securemx.json now has delivery.lmtp = {target}, listeners.dovecotPolicy = {policyText} and the mailAccess listeners; restart 'securemx serve' to use them");
            Console.Error.WriteLine("securemx: save the configuration with mode 0600 (it holds the policy key) and run: dovecot -F -c FILE");
            return 0;
        });
        return cmd;
    }

    private static IPEndPoint? Choose(string flag, string? given, string configured, string production)
    {
        var text = given ?? (configured.Length > 0 ? configured : production);
        try
        {
            return Endpoint.Parse(text, flag);
        }
        catch (FormatException ex)
        {
            throw new CliException(ex.Message);
        }
    }

    private static string PolicyKey(string dir)
    {
        try
        {
            return DovecotPolicyKey.LoadOrCreate(dir);
        }
        catch (Exception ex) when ((ex is InvalidDataException or IOException or UnauthorizedAccessException) && !SecureMx.Spool.StorageFailure.IsDiskFull(ex))
        {
            throw new CliException(ex.Message); // a full disk goes on to Program's "disk full" line
        }
    }

    private static LmtpTarget ParseLmtp(string text)
    {
        LmtpTarget? target;
        try
        {
            target = LmtpTarget.Parse(text);
        }
        catch (FormatException ex)
        {
            throw new CliException("--lmtp: " + ex.Message);
        }
        if (target is null || (!target.IsUnixSocket && target.Literal is null))
            throw new CliException($"--lmtp: '{text}' must be unix:/PATH or an IP address and port (Dovecot listens on an address, not a name)");
        return target;
    }

    private static void UpdateSecureMxJson(string dir, string lmtp, IPEndPoint? imap, IPEndPoint? imaps, IPEndPoint? pop3, IPEndPoint? pop3s, string policy)
    {
        var path = Path.Combine(dir, ConfigLoader.FileName);
        var json = JsonNode.Parse(File.ReadAllText(path))?.AsObject() ?? throw new CliException($"{path} is not a JSON object");
        JsonObject Section(string name) => json[name] as JsonObject ?? (JsonObject)(json[name] = new JsonObject());
        Section("delivery")["lmtp"] = lmtp;
        Section("listeners")["dovecotPolicy"] = policy;
        // "off", not empty: empty means never configured (the production default applies), and a
        // listener the operator turned off must stay off when the command runs again.
        var access = Section("mailAccess");
        access["imap"] = imap?.ToString() ?? Endpoint.Off;
        access["imaps"] = imaps?.ToString() ?? Endpoint.Off;
        access["pop3"] = pop3?.ToString() ?? Endpoint.Off;
        access["pop3s"] = pop3s?.ToString() ?? Endpoint.Off;
        // As init writes it: indented, "+" and non-ASCII as they are rather than \u escapes.
        DurableFiles.Default.WriteFileAtomic(path, System.Text.Encoding.UTF8.GetBytes(json.ToJsonString(ConfigLoader.Json) + "\n"));
    }

}
