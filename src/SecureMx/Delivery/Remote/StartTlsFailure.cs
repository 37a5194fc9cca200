using System.Security.Authentication;
using SecureMx.Client;

namespace SecureMx.Delivery.Remote;

/// <summary>
/// Why a server that offered STARTTLS gave us no TLS session: <see cref="Class"/> for the metric
/// (handshake, timeout, refused, connection, protocol) and <see cref="Reason"/> in words for the log
/// and the delivery log ("starttls-failed: REASON"). Under an opportunistic level the mail then goes
/// in plaintext on a new connection, which must not look like a server without STARTTLS: one is a
/// broken TLS setup (or a man in the middle), the other a server that never tried.
/// </summary>
public sealed record StartTlsFailure(string Class, string Reason)
{
    public static StartTlsFailure Of(Exception ex) => ex switch
    {
        SmtpClientTimeoutException timeout => new("timeout", timeout.Message),
        OperationCanceledException => new("timeout", "timed out"),
        SmtpClientException { Stage: "STARTTLS" } refused => new("refused", $"STARTTLS refused: {refused.Reply}"),
        SmtpClientException other => new("protocol", $"{other.Stage} after the handshake: {other.Reply}"),
        AuthenticationException => new("handshake", $"handshake failed: {RemoteDelivery.Innermost(ex)}"),
        _ => new("connection", $"connection lost in the handshake: {RemoteDelivery.Innermost(ex)}"),
    };

    public override string ToString() => Reason;
}
