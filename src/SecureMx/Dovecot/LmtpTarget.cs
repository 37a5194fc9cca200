using System.Net;

namespace SecureMx.Dovecot;

/// <summary>Where Dovecot's LMTP service listens: a Unix socket path, or a TCP endpoint.</summary>
public sealed record LmtpTarget(string? SocketPath, IPEndPoint? Endpoint)
{
    /// <summary>The value of delivery.lmtp: <c>unix:PATH</c> or <c>ADDR:PORT</c>.</summary>
    public override string ToString() => SocketPath is not null ? "unix:" + SocketPath : Endpoint!.ToString();

    /// <summary>Parses <c>unix:/absolute/path</c> or <c>ADDR:PORT</c>; null with an error for anything else.</summary>
    public static LmtpTarget? Parse(string text, out string? error)
    {
        error = null;
        if (text.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = text["unix:".Length..];
            // sockaddr_un holds 108 bytes with the terminating NUL.
            if (!Path.IsPathFullyQualified(path) || System.Text.Encoding.UTF8.GetByteCount(path) > 107 || path.Any(char.IsControl))
            {
                error = $"'{text}' is no usable socket: unix: takes an absolute path of at most 107 bytes";
                return null;
            }
            return new LmtpTarget(path, null);
        }
        if (Config.Endpoint.TryParseQuiet(text) is { } ep) return new LmtpTarget(null, ep);
        error = $"'{text}' is neither unix:/path nor ADDR:PORT";
        return null;
    }
}
