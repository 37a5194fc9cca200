using System.Security.Cryptography;

namespace SecureMx.Spool;

/// <summary>
/// Makes <see cref="MessageId"/>s for one node: 48 bits of milliseconds, 10 bits of node number, 22
/// bits of sequence. The milliseconds and the sequence together form one 70-bit counter that only
/// grows: a new millisecond takes the clock (the sequence runs on from where it was, having started
/// at a random value, so a restart in the same millisecond is unlikely to repeat an id); a clock
/// that stands still or steps back keeps the last millisecond and adds one to the sequence, which
/// carries into the milliseconds when it wraps. So no two ids of one generator are equal, and ids
/// from different node numbers differ in the node bits.
/// </summary>
public sealed class MessageIdGenerator
{
    public const int MaxNode = 1023;
    private const int SequenceBits = 22;
    private const ulong SequenceMask = (1UL << SequenceBits) - 1;
    private const ulong MsMask = 0xFFFF_FFFF_FFFFUL;

    private readonly Lock _lock = new();
    private ulong _ms;
    private ulong _sequence;
    private int _node;

    public MessageIdGenerator(int node)
    {
        Node = node;
        _sequence = (ulong)RandomNumberGenerator.GetInt32(1 << SequenceBits);
    }

    /// <summary>The node number (0–1023) put into the ids.</summary>
    public int Node
    {
        get => _node;
        set
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, MaxNode);
            _node = value;
        }
    }

    public string Next(TimeProvider time)
    {
        ulong now = (ulong)time.GetUtcNow().ToUnixTimeMilliseconds() & MsMask;
        ulong ms, sequence;
        lock (_lock)
        {
            if (now > _ms)
            {
                _ms = now;
                _sequence = (_sequence + 1) & SequenceMask;
            }
            else if (++_sequence > SequenceMask)
            {
                // 4 194 304 ids in one (held) millisecond: borrow the next one rather than repeat.
                _sequence = 0;
                _ms = (_ms + 1) & MsMask;
            }
            ms = _ms;
            sequence = _sequence;
        }
        return Format(ms, _node, sequence);
    }

    /// <summary>The node number inside an id made by a generator (meaningless for ids made before node numbers).</summary>
    public static int NodeOf(string id) => (int)((Decode(id) >> SequenceBits) & MaxNode);

    private static string Format(ulong ms, int node, ulong sequence)
    {
        UInt128 v = ((UInt128)ms << 32) | ((UInt128)(uint)node << SequenceBits) | sequence;
        Span<char> chars = stackalloc char[16];
        for (int i = 15; i >= 0; i--)
        {
            chars[i] = MessageId.Alphabet[(int)(v & 31)];
            v >>= 5;
        }
        return new string(chars);
    }

    private static UInt128 Decode(string id)
    {
        UInt128 v = 0;
        foreach (var c in id) v = (v << 5) | (uint)MessageId.Alphabet.IndexOf(c);
        return v;
    }
}
