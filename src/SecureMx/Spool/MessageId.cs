using System.Security.Cryptography;

namespace SecureMx.Spool;

/// <summary>
/// Queue ids: 16 characters of Crockford base32 — 48 bits of milliseconds (so ids sort by arrival)
/// then 32 random bits. Safe as a file name and short enough for logs and Received headers.
/// </summary>
public static class MessageId
{
    private const string Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

    public static string New(TimeProvider time)
    {
        ulong ms = (ulong)time.GetUtcNow().ToUnixTimeMilliseconds() & 0xFFFF_FFFF_FFFFUL;
        Span<byte> rnd = stackalloc byte[4];
        RandomNumberGenerator.Fill(rnd);
        ulong r = BitConverter.ToUInt32(rnd);
        Span<char> chars = stackalloc char[16];
        // 80 bits = 16 × 5 bits: time in the high 48, random in the low 32.
        UInt128 v = ((UInt128)ms << 32) | r;
        for (int i = 15; i >= 0; i--)
        {
            chars[i] = Alphabet[(int)(v & 31)];
            v >>= 5;
        }
        return new string(chars);
    }

    public static bool IsValid(string id) => id.Length == 16 && id.All(c => Alphabet.Contains(c));
}
