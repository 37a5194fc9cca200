using System.Globalization;
using System.Text.RegularExpressions;

namespace SecureMx.Tests.TestSupport;

/// <summary>
/// One SMTP scenario as a text file (tests/SecureMx.Tests/Smtp/Dialogues, format in the README
/// there): how the server is set up, what the client sends and what the server must answer.
/// </summary>
public sealed partial class SmtpDialogue
{
    public const string Extension = ".dialogue";

    private SmtpDialogue(string name, SmtpDialogueSettings settings, IReadOnlyList<SmtpDialogueStep> steps)
    {
        Name = name;
        Settings = settings;
        Steps = steps;
    }

    /// <summary>The file's path below the dialogue folder, without the extension (the test case's name).</summary>
    public string Name { get; }

    public SmtpDialogueSettings Settings { get; }

    public IReadOnlyList<SmtpDialogueStep> Steps { get; }

    /// <summary>The dialogue folder next to the test binaries (a copy of tests/SecureMx.Tests/Smtp/Dialogues).</summary>
    public static string Folder { get; } = Path.Combine(AppContext.BaseDirectory, "Smtp", "Dialogues");

    /// <summary>The names of every dialogue in <paramref name="folder"/>, sorted.</summary>
    public static IEnumerable<string> Names(string folder) =>
        Directory.EnumerateFiles(folder, "*" + Extension, SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(folder, f)[..^Extension.Length].Replace(Path.DirectorySeparatorChar, '/'))
            .Order(StringComparer.Ordinal);

    public static SmtpDialogue Load(string folder, string name) =>
        Parse(File.ReadAllText(Path.Combine(folder, name + Extension)), name);

    /// <summary>Reads a dialogue; throws <see cref="FormatException"/> naming NAME:LINE for anything it cannot run as written.</summary>
    public static SmtpDialogue Parse(string text, string name)
    {
        var settings = new SmtpDialogueSettings();
        var steps = new List<SmtpDialogueStep>();
        bool replyRead = false; // on the current connection: may S+ S- S~ S# look at a reply?
        var lines = text.Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int number = i + 1;
            var line = lines[i].TrimEnd('\r');
            if (line.TrimStart().Length == 0 || line.TrimStart().StartsWith('#')) continue;
            try
            {
                if (line.StartsWith("set ", StringComparison.Ordinal))
                {
                    if (steps.Count > 0) throw new FormatException("\"set\" lines come before the first step");
                    var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    if (words.Length < 3) throw new FormatException("set KEY VALUE expected");
                    settings.Set(words[1], words[2..]);
                    continue;
                }
                if (line.Length < 2 || line[0] is not ('C' or 'S') || (line.Length > 2 && line[2] != ' '))
                    throw new FormatException("a line is a comment (#), \"set KEY VALUE\", or starts with C: C> C! S: S= S^ S+ S- S~ S#");
                var arg = line.Length > 3 ? line[3..] : "";
                var step = Step(line[..2], arg, number, line);
                if (step is ReplyStep) replyRead = true;
                if (step is ConnectStep) replyRead = false;
                if (step is ReplyCheckStep && !replyRead) throw new FormatException("checks a reply, but none has been read on this connection");
                steps.Add(step);
            }
            catch (FormatException e)
            {
                throw new FormatException($"{name}{Extension}:{number}: {e.Message}: {line}", e);
            }
        }
        if (steps.Count == 0) throw new FormatException($"{name}{Extension}: no steps");
        return new SmtpDialogue(name, settings, steps);
    }

    private static SmtpDialogueStep Step(string prefix, string arg, int number, string line)
    {
        switch (prefix)
        {
            case "C:":
                return new SendStep(number, line, [.. SmtpDialogueEscapes.Decode(arg), 13, 10]);
            case "C>":
                if (arg.Length == 0) throw new FormatException("C> sends something");
                return new SendStep(number, line, SmtpDialogueEscapes.Decode(arg));
            case "C!":
                var words = arg.Split(' ');
                return words switch
                {
                    ["tls"] => new TlsStep(number, line),
                    ["connect"] => new ConnectStep(number, line),
                    ["pause", var ms] when ms.EndsWith("ms", StringComparison.Ordinal)
                        && int.TryParse(ms[..^2], NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n is > 0 and <= 5000
                        => new PauseStep(number, line, TimeSpan.FromMilliseconds(n)),
                    _ => throw new FormatException("C! tls, C! connect or C! pause Nms (up to 5000ms)"),
                };
            case "S:":
                if (arg == "closed") return new ClosedStep(number, line);
                var m = CodeAndEnhanced().Match(arg);
                if (!m.Success) throw new FormatException("S: CODE, S: CODE X.Y.Z or S: closed (S= or S^ to look at the text)");
                return new ReplyStep(number, line, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture),
                    m.Groups[2].Success ? m.Groups[2].Value : null, null, Exact: false);
            case "S=":
            case "S^":
                var c = CodeAndText().Match(arg);
                if (!c.Success) throw new FormatException($"{prefix} CODE TEXT: the reply's first line as \"CODE TEXT\"");
                return new ReplyStep(number, line, int.Parse(c.Groups[1].Value, CultureInfo.InvariantCulture), null, arg, Exact: prefix == "S=");
            case "S+":
            case "S-":
            case "S~":
                if (arg.Length == 0) throw new FormatException($"{prefix} needs a text");
                return new ReplyCheckStep(number, line, prefix[1], arg);
            case "S#":
                if (!int.TryParse(arg, NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
                    throw new FormatException("S# N: the number of lines of the reply");
                return new ReplyCheckStep(number, line, '#', arg);
            default:
                throw new FormatException($"unknown step {prefix}");
        }
    }

    [GeneratedRegex(@"^([2-5][0-9]{2})(?: ([2-5]\.[0-9]{1,3}\.[0-9]{1,3}))?$")]
    private static partial Regex CodeAndEnhanced();

    [GeneratedRegex(@"^([2-5][0-9]{2})(?: .*)?$")]
    private static partial Regex CodeAndText();

    public override string ToString() => Name;
}
