using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureMx.Config;

/// <summary>
/// Where delivery.lmtp says the mailbox server's LMTP service listens (RFC 2033): a unix-domain
/// socket (<c>unix:/run/dovecot/lmtp</c>), or a TCP host and port (<c>127.0.0.1:24</c>,
/// <c>[::1]:24</c>, <c>lmtp.example.net:24</c>). Exactly one of <see cref="SocketPath"/> and
/// <see cref="Host"/> is set.
/// </summary>
public sealed record LmtpTarget(string? SocketPath, string? Host, int Port)
{
    public const string UnixPrefix = "unix:";

    /// <summary>sun_path holds 108 bytes on Linux, the terminating NUL included (unix(7)).</summary>
    public const int MaxSocketPathBytes = 107;

    public bool IsUnixSocket => SocketPath is not null;

    /// <summary>The host as an IP address when delivery.lmtp gives a literal; null for a name or a socket.</summary>
    public IPAddress? Literal => Host is not null && IPAddress.TryParse(Host, out var ip) ? ip : null;

    /// <summary>The form delivery.lmtp takes, for logs and delivery texts.</summary>
    public override string ToString() =>
        SocketPath is not null ? UnixPrefix + SocketPath
        : Literal is { AddressFamily: AddressFamily.InterNetworkV6 } ? $"[{Host}]:{Port.ToString(CultureInfo.InvariantCulture)}"
        : $"{Host}:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>
    /// Parses delivery.lmtp; null for the empty text (Maildir delivery). Throws
    /// <see cref="FormatException"/> with an operator-readable message for anything else it cannot use.
    /// </summary>
    public static LmtpTarget? Parse(string text)
    {
        if (text.Length == 0) return null;
        if (text.StartsWith(UnixPrefix, StringComparison.Ordinal))
        {
            var path = text[UnixPrefix.Length..];
            if (!path.StartsWith('/')) throw Invalid(text, "the socket path must be absolute");
            if (path.Contains('\0', StringComparison.Ordinal)) throw Invalid(text, "the socket path contains a NUL character");
            if (Encoding.UTF8.GetByteCount(path) > MaxSocketPathBytes) throw Invalid(text, $"a unix socket path has at most {MaxSocketPathBytes} bytes");
            return new LmtpTarget(path, null, 0);
        }
        string host, port;
        if (text.StartsWith('['))
        {
            // IPv6 needs brackets, so that "::1:24" is never guessed (as for every endpoint).
            int close = text.IndexOf("]:", StringComparison.Ordinal);
            if (close < 0) throw Invalid(text);
            host = text[1..close];
            port = text[(close + 2)..];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != AddressFamily.InterNetworkV6) throw Invalid(text, $"'{host}' is not an IPv6 address");
        }
        else
        {
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 || colon != text.LastIndexOf(':')) throw Invalid(text);
            host = text[..colon];
            port = text[(colon + 1)..];
            bool ipv4 = IPAddress.TryParse(host, out var v4) && v4.AddressFamily == AddressFamily.InterNetwork && host.Count(c => c == '.') == 3;
            if (!ipv4 && !IsHostName(host)) throw Invalid(text, $"'{host}' is neither an IPv4 address nor a host name");
        }
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p is < 1 or > 65535) throw Invalid(text, $"'{port}' is not a port (1 to 65535)");
        return new LmtpTarget(null, host.ToLowerInvariant(), p);
    }

    /// <summary>
    /// Whether a connection to <paramref name="connected"/> must be protected by STARTTLS: every TCP
    /// connection except one to a loopback address (127.0.0.0/8, ::1), which never leaves this
    /// machine; a unix-domain socket never does either.
    /// </summary>
    public static bool RequiresTls(EndPoint connected) => connected switch
    {
        UnixDomainSocketEndPoint => false,
        IPEndPoint ip => !IPAddress.IsLoopback(ip.Address),
        _ => true,
    };

    /// <summary>Letters, digits and hyphens in labels of 1 to 63 characters, not starting or ending with a hyphen; one label ("localhost") is enough.</summary>
    private static bool IsHostName(string host)
    {
        if (host.Length is 0 or > 253) return false;
        foreach (var label in host.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-') return false;
            if (!label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-')) return false;
        }
        // A name of digits and dots only would be an IPv4 address in disguise ("127.1").
        return host.Any(char.IsAsciiLetter);
    }

    private static FormatException Invalid(string text, string? why = null) =>
        new($"delivery.lmtp: '{text}' is not unix:/path/to/socket, HOST:PORT or [IPv6]:PORT (for example unix:/run/dovecot/lmtp or 127.0.0.1:24)"
            + (why is null ? "" : $": {why}"));
}
