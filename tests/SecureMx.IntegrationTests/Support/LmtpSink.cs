using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A minimal LMTP server (RFC 2033) that accepts every recipient and keeps each message's text: the
/// mailbox server of a node whose local deliveries must wait (nothing listens until the test starts
/// it), so that the node holds mail in its queue on purpose.
/// </summary>
public sealed class LmtpSink : LoopbackTcpServer
{
    /// <summary>Every message received, as text (one entry per message, not per recipient).</summary>
    public ConcurrentQueue<string> Messages { get; } = new();

    public LmtpSink(IPEndPoint endpoint) : base(endpoint, reuseAddress: true)
    {
        StartAccepting();
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.UTF8);
                async Task Say(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
                await Say("220 lmtp.sink.test LMTP");
                var recipients = 0;
                while (await reader.ReadLineAsync() is { } line)
                {
                    switch (line.Split(' ')[0].ToUpperInvariant())
                    {
                        case "LHLO": await Say("250-lmtp.sink.test\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250 SMTPUTF8"); break;
                        case "MAIL": recipients = 0; await Say("250 2.1.0 ok"); break;
                        case "RCPT": recipients++; await Say("250 2.1.5 ok"); break;
                        case "RSET": recipients = 0; await Say("250 2.0.0 ok"); break;
                        case "NOOP": await Say("250 2.0.0 ok"); break;
                        case "DATA":
                            await Say("354 go ahead");
                            var text = new StringBuilder();
                            while (await reader.ReadLineAsync() is { } data && data != ".") text.Append(data).Append("\r\n");
                            Messages.Enqueue(text.ToString());
                            // LMTP: one reply per accepted recipient.
                            for (var i = 0; i < recipients; i++) await Say("250 2.0.0 stored");
                            recipients = 0;
                            break;
                        case "QUIT": await Say("221 2.0.0 bye"); return;
                        default: await Say("502 5.5.2 not here"); break;
                    }
                }
            }
            catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException)
            {
            }
        }
    }
}
