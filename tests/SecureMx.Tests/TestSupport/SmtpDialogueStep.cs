namespace SecureMx.Tests.TestSupport;

/// <summary>One line of a dialogue that does something: <paramref name="Line"/> is its number, <paramref name="Text"/> the line as written.</summary>
public abstract record SmtpDialogueStep(int Line, string Text);

/// <summary>"C: LINE" (CRLF added) or "C> TEXT" (sent as is): bytes to the server.</summary>
public sealed record SendStep(int Line, string Text, byte[] Bytes) : SmtpDialogueStep(Line, Text);

/// <summary>"C! tls": the client's TLS handshake (after a 220 to STARTTLS, or first thing on an implicit-TLS listener).</summary>
public sealed record TlsStep(int Line, string Text) : SmtpDialogueStep(Line, Text);

/// <summary>"C! pause MS": the client waits before its next step.</summary>
public sealed record PauseStep(int Line, string Text, TimeSpan Duration) : SmtpDialogueStep(Line, Text);

/// <summary>"C! connect": the client hangs up and opens a new connection.</summary>
public sealed record ConnectStep(int Line, string Text) : SmtpDialogueStep(Line, Text);

/// <summary>
/// A step that reads the next reply: "S: CODE [X.Y.Z]" (<paramref name="Code"/> and, if given,
/// <paramref name="Enhanced"/>), "S= CODE TEXT" (its first line is exactly that) or "S^ CODE TEXT"
/// (its first line starts with that; <paramref name="FirstLine"/> and <paramref name="Exact"/>).
/// </summary>
public sealed record ReplyStep(int Line, string Text, int Code, string? Enhanced, string? FirstLine, bool Exact) : SmtpDialogueStep(Line, Text);

/// <summary>"S: closed": the server closes the connection without another reply.</summary>
public sealed record ClosedStep(int Line, string Text) : SmtpDialogueStep(Line, Text);

/// <summary>
/// A check of the reply read last: "S+ LINE" (one of its lines is LINE), "S- LINE" (none is), either
/// with a final "*" for "starts with"; "S~ TEXT" (its text contains TEXT); "S# N" (it has N lines).
/// </summary>
public sealed record ReplyCheckStep(int Line, string Text, char Kind, string Value) : SmtpDialogueStep(Line, Text);
