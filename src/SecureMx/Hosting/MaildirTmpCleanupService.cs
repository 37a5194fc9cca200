using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using SecureMx.Config;
using SecureMx.Delivery;
using SecureMx.Policy;

namespace SecureMx.Hosting;

/// <summary>
/// Cleans the <c>tmp/</c> folders of the Maildirs SecureMx writes itself, at start and then once a
/// day (<see cref="MaildirTmpCleanup"/>: regular files untouched for 36 hours, the leftovers of a
/// delivery killed before its rename). Those are every Maildir under <c>DIR/mail</c>
/// (<c>mail/DOMAIN/LOCAL</c>, and the instance's postmaster Maildir) — or, when delivery.lmtp hands
/// the hosted mailboxes to the mailbox server, only the instance's postmaster Maildir: the others
/// are the mailbox server's (Dovecot cleans their tmp/ itself). Links on the way are never followed.
/// One log line per run that removed something, with the count.
/// </summary>
public sealed class MaildirTmpCleanupService(string dataDirectory, SecureMxOptions options, TimeProvider time, ILogger<MaildirTmpCleanupService> log) : BackgroundService
{
    /// <summary>How often the cleanup runs after the one at start.</summary>
    public static readonly TimeSpan Interval = TimeSpan.FromDays(1);

    /// <summary>Runs the first cleanup (off the start-up path), then one every <see cref="Interval"/> until stopped.</summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await Task.Run(RunOnce, stoppingToken);
                await Task.Delay(Interval, time, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>One cleanup of every Maildir SecureMx writes; returns how many files it removed.</summary>
    public int RunOnce()
    {
        var cutoff = time.GetUtcNow() - MaildirTmpCleanup.MaximumAge;
        int maildirs = 0, removed = 0, failed = 0;
        foreach (var maildir in Maildirs())
        {
            if (!MaildirTmpCleanup.IsRealDirectory(Path.Combine(maildir, "tmp"))) continue; // not a Maildir
            var result = MaildirTmpCleanup.Clean(maildir, cutoff);
            maildirs++;
            removed += result.Removed;
            failed += result.Failed;
        }
        if (removed > 0 || failed > 0)
        {
            log.LogInformation("Maildir cleanup: removed {Removed} file(s) older than {Hours} h from tmp/ of {Maildirs} Maildir(s){Failed}",
                removed, MaildirTmpCleanup.MaximumAge.TotalHours, maildirs, failed > 0 ? $"; {failed} could not be removed" : "");
        }
        return removed;
    }

    /// <summary>The Maildirs SecureMx delivers into (each a real directory: no link on the way is followed).</summary>
    private IEnumerable<string> Maildirs()
    {
        var postmaster = Path.Combine(dataDirectory, RecipientRouter.InstancePostmasterMaildir);
        if (MaildirTmpCleanup.IsRealDirectory(postmaster)) yield return postmaster;
        if (LmtpTarget.Parse(options.Delivery.Lmtp) is not null) yield break; // the hosted mailboxes are the mailbox server's
        var mail = Path.Combine(dataDirectory, "mail");
        if (!MaildirTmpCleanup.IsRealDirectory(mail)) yield break;
        foreach (var domain in Subdirectories(mail))
        {
            if (domain == postmaster) continue;
            foreach (var maildir in Subdirectories(domain)) yield return maildir;
        }
    }

    private static List<string> Subdirectories(string path)
    {
        try
        {
            return Directory.EnumerateDirectories(path).Where(MaildirTmpCleanup.IsRealDirectory).Order(StringComparer.Ordinal).ToList();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
