using System.Net;
using SecureMx.Config;

namespace SecureMx.Dovecot;

/// <summary>
/// What a generated Dovecot configuration is made for: the SecureMx instance (its data directory,
/// certificate and host name), the listeners mail clients use, the LMTP socket, the system user
/// whose files the Maildirs are, and the authentication policy endpoint with its key.
/// </summary>
public sealed record DovecotInstance(
    string DataDirectory,
    string Hostname,
    string CertificatePath,
    string KeyPath,
    IPEndPoint? Imap,
    IPEndPoint? Imaps,
    IPEndPoint? Pop3,
    IPEndPoint? Pop3s,
    LmtpTarget Lmtp,
    MailOwner Owner,
    IPEndPoint PolicyEndpoint,
    string PolicyKey,
    TimeSpan FailureDelay)
{
    /// <summary>DIR/dovecot: the generated SQL file, Dovecot's base_dir, state and logs.</summary>
    public string DovecotDirectory => Path.Combine(DataDirectory, "dovecot");
    public string SqlConfigPath => Path.Combine(DovecotDirectory, "securemx-sql.conf.ext");
    public string StorePath => Path.Combine(DataDirectory, "securemx.db");
}

/// <summary>The system user (and group) that owns the data directory: Dovecot reads and writes the Maildirs as it.</summary>
public sealed record MailOwner(int Uid, int Gid, string UserName, string GroupName);
