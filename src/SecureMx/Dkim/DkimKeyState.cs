using SecureMx.Mail;

namespace SecureMx.Dkim;

/// <summary>
/// Where a DKIM key is in its life: <c>pending</c> (made, its TXT record not yet seen in DNS, does not
/// sign), <c>active</c> (signs), <c>retiring</c> (replaced; no longer signs, its record stays published a
/// while so that mail already sent still verifies), <c>retired</c> (its record may be removed).
/// </summary>
public enum DkimKeyState
{
    Pending,
    Active,
    Retiring,
    Retired,
}

public static class DkimKeyStates
{
    public static string Name(this DkimKeyState s) => s switch
    {
        DkimKeyState.Pending => "pending",
        DkimKeyState.Active => "active",
        DkimKeyState.Retiring => "retiring",
        DkimKeyState.Retired => "retired",
        _ => throw new ArgumentOutOfRangeException(nameof(s)),
    };

    public static bool TryParse(string? text, out DkimKeyState state) => EnumNames.TryParse(text, Name, out state);
}
