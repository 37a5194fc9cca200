using System.Net;
using System.Net.Sockets;
using System.Text;

namespace SecureMx.IntegrationTests.Support;

/// <summary>
/// A deliberately broken receiver that Postfix cannot play: it accepts MAIL, RCPT and DATA, reads
/// the first bytes of the message and then drops the connection. The only in-process peer of the
/// outbound tests, used for exactly this failure.
/// </summary>
public sealed class DroppingSmtpPeer : LoopbackTcpServer
{
    private int _drops;

    public int Drops => Volatile.Read(ref _drops);

    private readonly string _hostname;

    public DroppingSmtpPeer(IPEndPoint endpoint, string hostname) : base(endpoint)
    {
        _hostname = hostname;
        StartAccepting();
    }

    protected override async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            try
            {
                var stream = client.GetStream();
                using var reader = new StreamReader(stream, Encoding.ASCII);
                async Task Say(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));
                await Say($"220 {_hostname} ESMTP");
                while (await reader.ReadLineAsync() is { } line)
                {
                    var verb = line.Split(' ')[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO": await Say($"250 {_hostname}"); break;
                        case "MAIL": case "RCPT": case "RSET": await Say("250 2.0.0 ok"); break;
                        case "DATA":
                            await Say("354 go ahead");
                            var buffer = new char[16];
                            await reader.ReadAsync(buffer); // the first bytes of the message, then gone
                            Interlocked.Increment(ref _drops);
                            client.Client.Close();
                            return;
                        case "QUIT": await Say("221 bye"); return;
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
