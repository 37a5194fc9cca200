namespace SecureMx.Smtp;

/// <summary>
/// Decodes the DATA stream (RFC 5321 §4.1.1.4, §4.5.2): removes dot-stuffing and finds the end marker.
/// The only end marker is &lt;CRLF&gt;.&lt;CRLF&gt; where both line breaks are real CRLF pairs; a bare CR or
/// LF never ends a line here, so "\n.\n", "\r.\r" and "\n.\r\n" stay content and SMTP smuggling
/// is impossible. Bare CR/LF are remembered so the session can refuse the message.
/// Works on arbitrary buffer boundaries and never holds a whole line.
/// </summary>
public sealed class DataDecoder
{
    private enum State { LineStart, InLine, AfterCr, LineStartDot, DotCr }

    private State _state = State.LineStart;

    public bool SawBareCrOrLf { get; private set; }

    public bool IsComplete { get; private set; }

    /// <summary>
    /// Consumes input up to and including the end marker. Content bytes go to <paramref name="sink"/>
    /// (in as few calls as possible). Returns the number of input bytes consumed.
    /// </summary>
    public int Decode(ReadOnlySpan<byte> input, Action<ReadOnlySpan<byte>> sink)
    {
        int i = 0;
        int runStart = 0; // start of a run of content bytes that can be copied verbatim
        while (i < input.Length && !IsComplete)
        {
            switch (_state)
            {
                case State.InLine:
                {
                    int next = input.Slice(i).IndexOfAny((byte)'\r', (byte)'\n');
                    if (next < 0) { i = input.Length; break; }
                    i += next;
                    if (input[i] == (byte)'\n')
                    {
                        SawBareCrOrLf = true; // bare LF: content, not a line break
                        i++;
                    }
                    else
                    {
                        _state = State.AfterCr;
                        i++;
                    }
                    break;
                }
                case State.AfterCr:
                    if (input[i] == (byte)'\n') { _state = State.LineStart; i++; }
                    else { SawBareCrOrLf = true; _state = input[i] == (byte)'\r' ? State.AfterCr : State.InLine; i++; }
                    break;
                case State.LineStart:
                    if (input[i] == (byte)'.')
                    {
                        Flush(input, runStart, i, sink);
                        i++;
                        runStart = i; // the dot is not content (yet)
                        _state = State.LineStartDot;
                    }
                    else _state = State.InLine;
                    break;
                case State.LineStartDot:
                    if (input[i] == (byte)'\r') { _state = State.DotCr; i++; }
                    else { _state = State.InLine; } // transparency dot removed (§4.5.2); reprocess this byte as content
                    break;
                case State.DotCr:
                    if (input[i] == (byte)'\n')
                    {
                        // End of data: the ".\r\n" is not content.
                        i++;
                        runStart = i;
                        IsComplete = true;
                    }
                    else
                    {
                        // ".\r" followed by something else: the dot was stuffing, the CR is a bare CR.
                        SawBareCrOrLf = true;
                        sink("\r"u8);
                        runStart = i;
                        _state = input[i] == (byte)'\r' ? State.AfterCr : State.InLine;
                        i++;
                    }
                    break;
            }
        }
        if (!IsComplete)
        {
            // A pending ".\r" at the end of the buffer is withheld until we know what follows.
            int end = _state == State.DotCr ? i - 1 : i;
            if (_state == State.DotCr && end < runStart) end = runStart; // the CR came from an earlier buffer
            Flush(input, runStart, end, sink);
        }
        return i;
    }

    private static void Flush(ReadOnlySpan<byte> input, int start, int end, Action<ReadOnlySpan<byte>> sink)
    {
        if (end > start) sink(input.Slice(start, end - start));
    }
}
