namespace SecureMx.Client;

/// <summary>
/// Where an outbound SMTP or LMTP connection is: what it last sent, or what it waits for. A timeout
/// names it, because each says something different to the operator: no answer at connect is a
/// firewall, silence after the final dot may mean the message was delivered anyway (a duplicate may follow).
/// </summary>
public enum ClientStage
{
    Connect,
    Greeting,
    Hello,
    StartTls,
    TlsHandshake,
    Mail,
    Rcpt,
    Data,
    Content,
    AfterFinalDot,
    Reset,
    Quit,
}

public static class ClientStages
{
    /// <summary>The stage in words, to follow "timed out" in a deferral reason, a DSN and the log.</summary>
    public static string Describe(this ClientStage stage) => stage switch
    {
        ClientStage.Connect => "while connecting",
        ClientStage.Greeting => "waiting for the greeting",
        ClientStage.Hello => "after EHLO",
        ClientStage.StartTls => "after STARTTLS",
        ClientStage.TlsHandshake => "in the TLS handshake",
        ClientStage.Mail => "after MAIL FROM",
        ClientStage.Rcpt => "after RCPT TO",
        ClientStage.Data => "after DATA",
        ClientStage.Content => "while sending the message",
        ClientStage.AfterFinalDot => "after the final dot (the message may have been delivered)",
        ClientStage.Reset => "after RSET",
        ClientStage.Quit => "after QUIT",
        _ => stage.ToString(),
    };
}
