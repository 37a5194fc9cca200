using SecureMx.Mail;

namespace SecureMx.MtaSts;

/// <summary>
/// The mode of an MTA-STS policy (RFC 8461 §3.2, §5): <c>enforce</c> delivers only to a listed MX
/// host over TLS with a PKIX-valid certificate for its name; <c>testing</c> delivers anyway and
/// records what would have failed (for TLS reporting, RFC 8460); <c>none</c> switches a former
/// policy off. The same three words are a hosted domain's setting (`securemx policy mta-sts`).
/// </summary>
public enum MtaStsMode { None, Testing, Enforce }

public static class MtaStsModes
{
    public static string Name(this MtaStsMode mode) => mode switch
    {
        MtaStsMode.None => "none",
        MtaStsMode.Testing => "testing",
        MtaStsMode.Enforce => "enforce",
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    public static bool TryParse(string? text, out MtaStsMode mode) => EnumNames.TryParse(text, Name, out mode);

    public static string AllNames => string.Join("|", Enum.GetValues<MtaStsMode>().Select(m => m.Name()));
}
