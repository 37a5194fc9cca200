using System.Data.Common;

namespace SecureMx.Store;

/// <summary>
/// The one test of "the store could not answer" on the mail path: any database error (SQLite's and
/// PostgreSQL's both derive from <see cref="DbException"/>), and what the backend counts as
/// unreachable (<see cref="StoreDatabase.IsUnreachable"/>: a refused or broken connection, a
/// timeout, no connection free). Whoever catches it answers with a
/// temporary failure — 451 4.3.0 at RCPT and MAIL FROM, 454 4.7.0 at AUTH, a deferral in the queue —
/// and goes on: the store never turns into a permanent refusal it would not have given.
/// </summary>
public static class StoreUnavailable
{
    /// <remarks>
    /// A bare <see cref="IOException"/> is a file's error (the spool's, a Maildir's), not the store's:
    /// Npgsql reports a connection lost mid-reply wrapped in its own exception, which is a DbException.
    /// </remarks>
    public static bool Is(Exception ex) => ex is DbException || ex is not IOException && StoreDatabase.IsUnreachable(ex);
}
