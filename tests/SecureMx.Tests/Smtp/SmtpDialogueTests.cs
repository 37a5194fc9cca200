using SecureMx.Tests.TestSupport;

namespace SecureMx.Tests.Smtp;

/// <summary>
/// Every SMTP dialogue under Smtp/Dialogues (one scenario per file, the format in the README there),
/// each its own test case named by its path: the session state machine, AUTH, TLS and limits as a
/// client sees them on the wire. Tests that look past the wire (stored bytes, the envelope, the
/// session log, timing, several connections at once) stay in the SmtpSession*Tests classes.
/// </summary>
public sealed class SmtpDialogueTests
{
    public static TheoryData<string> Dialogues => new(SmtpDialogue.Names(SmtpDialogue.Folder));

    [Theory]
    [MemberData(nameof(Dialogues))]
    public Task Dialogue(string name) => SmtpDialogueRunner.RunAsync(SmtpDialogue.Load(SmtpDialogue.Folder, name));
}
