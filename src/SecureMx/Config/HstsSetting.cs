namespace SecureMx.Config;

/// <summary>dashboard.hsts: whether the dashboard sends Strict-Transport-Security (RFC 6797).</summary>
public enum HstsSetting
{
    /// <summary>When the dashboard serves HTTPS itself with a certificate that is not self-signed (a browser would refuse to pin a name it cannot verify).</summary>
    Auto,
    /// <summary>Always, also with dashboard.plainHttp (the TLS proxy in front passes it on to the browser).</summary>
    On,
    /// <summary>Never.</summary>
    Off,
}

public static class HstsSettings
{
    /// <summary>auto, true or false (any case: environment and command-line overrides write "True").</summary>
    public static bool TryParse(string text, out HstsSetting setting)
    {
        setting = text.Trim().ToLowerInvariant() switch
        {
            "auto" => HstsSetting.Auto,
            "true" => HstsSetting.On,
            "false" => HstsSetting.Off,
            _ => (HstsSetting)(-1),
        };
        return Enum.IsDefined(setting);
    }

    public static HstsSetting Parse(string text) =>
        TryParse(text, out var s) ? s : throw new FormatException($"dashboard.hsts: '{text}' is not auto, true or false");
}
