using SecureMx.MtaSts;

namespace SecureMx.Tests.MtaSts;

/// <summary>An <see cref="IMtaStsPolicyFetcher"/> that answers what the test sets, and counts what it was asked.</summary>
internal sealed class ScriptedPolicyFetcher : IMtaStsPolicyFetcher
{
    private int _discoveries;
    private int _fetches;

    /// <summary>The TXT answer (default: no record).</summary>
    public MtaStsDiscovery Discovery { get; set; } = MtaStsDiscovery.NoRecord;

    /// <summary>The fetch's answer (default: a failure, so an unexpected fetch shows).</summary>
    public MtaStsFetchResult Fetch { get; set; } = MtaStsFetchResult.Failed(MtaStsFailure.FetchError("no fetch scripted"));

    /// <summary>When set, every fetch waits for it first.</summary>
    public TaskCompletionSource? FetchGate { get; set; }

    /// <summary>Runs inside each fetch, before it answers (another node's work in the middle of this one).</summary>
    public Func<Task>? DuringFetch { get; set; }

    public int Discoveries => Volatile.Read(ref _discoveries);

    public int Fetches => Volatile.Read(ref _fetches);

    public void Record(string id) => Discovery = MtaStsDiscovery.Found(new MtaStsTxtRecord(id));

    public void Serve(string policyText)
    {
        var (policy, error) = MtaStsPolicy.Parse(policyText);
        Fetch = MtaStsFetchResult.Fetched(policy ?? throw new ArgumentException(error), policyText);
    }

    public void Fail(MtaStsFailure failure) => Fetch = MtaStsFetchResult.Failed(failure);

    public Task<MtaStsDiscovery> DiscoverAsync(string domain, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _discoveries);
        return Task.FromResult(Discovery);
    }

    public async Task<MtaStsFetchResult> FetchAsync(string domain, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _fetches);
        if (FetchGate is { } gate) await gate.Task.WaitAsync(cancellationToken);
        if (DuringFetch is { } during) await during();
        return Fetch;
    }
}
