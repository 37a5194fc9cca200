using System.Net;
using Microsoft.Data.Sqlite;
using SecureMx.Mail;

namespace SecureMx.Spool;

/// <summary>
/// A recipient's last <see cref="DeliveryOutcome"/> in the recipients table: <c>last_error</c> (the
/// human text), <c>last_reason</c>, <c>last_status</c>, <c>last_code</c>, <c>last_tls_level</c>,
/// <c>last_tls_source</c>, <c>last_host</c>, <c>last_address</c>. The state is the row's own.
/// </summary>
internal static class StoredOutcome
{
    /// <summary>The columns in the order <see cref="Read"/> expects them.</summary>
    public const string Columns = "last_error, last_reason, last_status, last_code, last_tls_level, last_tls_source, last_host, last_address";

    /// <summary>SET clause for an UPDATE whose command got <see cref="AddParameters"/>.</summary>
    public const string Assignments = "last_error=$o_text, last_reason=$o_reason, last_status=$o_status, last_code=$o_code, " +
                                      "last_tls_level=$o_tls_level, last_tls_source=$o_tls_source, last_host=$o_host, last_address=$o_address";

    public static Parameters AddParameters(SqliteCommand cmd) => new(cmd);

    /// <summary>The outcome of a row whose <see cref="Columns"/> start at <paramref name="first"/>; null when it has none (never tried).</summary>
    public static DeliveryOutcome? Read(SqliteDataReader r, int first, RecipientState state)
    {
        string? S(int i) => r.IsDBNull(first + i) ? null : r.GetString(first + i);
        if (!OutcomeReasons.TryParse(S(1), out var reason)) return null;
        var status = EnhancedStatus.TryParse(S(2), out var s) ? s : EnhancedStatus.Generic(state == RecipientState.Failed ? 550 : 451);
        RequiredTls? required = OutboundTlsLevels.TryParse(S(4) ?? "", out var level) && TlsRequirementSources.TryParse(S(5), out var source)
            ? new RequiredTls(level, source) : null;
        return new DeliveryOutcome(state, reason, status, S(0) ?? "", r.IsDBNull(first + 3) ? null : r.GetInt32(first + 3), required,
            S(6), IPAddress.TryParse(S(7), out var address) ? address : null);
    }

    /// <summary>The parameters of <see cref="Assignments"/>, set once per row.</summary>
    public sealed class Parameters
    {
        private readonly SqliteParameter _text, _reason, _status, _code, _tlsLevel, _tlsSource, _host, _address;

        internal Parameters(SqliteCommand cmd)
        {
            _text = cmd.Parameters.Add("$o_text", SqliteType.Text);
            _reason = cmd.Parameters.Add("$o_reason", SqliteType.Text);
            _status = cmd.Parameters.Add("$o_status", SqliteType.Text);
            _code = cmd.Parameters.Add("$o_code", SqliteType.Integer);
            _tlsLevel = cmd.Parameters.Add("$o_tls_level", SqliteType.Text);
            _tlsSource = cmd.Parameters.Add("$o_tls_source", SqliteType.Text);
            _host = cmd.Parameters.Add("$o_host", SqliteType.Text);
            _address = cmd.Parameters.Add("$o_address", SqliteType.Text);
        }

        public void Set(DeliveryOutcome o)
        {
            _text.Value = o.Text;
            _reason.Value = o.Reason.Name();
            _status.Value = o.Status.ToString();
            _code.Value = (object?)o.ReplyCode ?? DBNull.Value;
            _tlsLevel.Value = (object?)o.RequiredTls?.Level.Name() ?? DBNull.Value;
            _tlsSource.Value = (object?)o.RequiredTls?.Source.Name() ?? DBNull.Value;
            _host.Value = (object?)o.Host ?? DBNull.Value;
            _address.Value = (object?)o.Address?.ToString() ?? DBNull.Value;
        }
    }
}
