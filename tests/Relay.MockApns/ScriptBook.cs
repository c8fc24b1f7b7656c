using System.Collections.Concurrent;

namespace Relay.MockApns;

/// <summary>Scripted behaviours per device token, and the global "every n-th request" fault.</summary>
internal sealed class ScriptBook
{
    private readonly ConcurrentDictionary<string, Entry> _byToken = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _byTokenSpan;
    private volatile FaultRule? _fault;
    private long _faultCounter;

    public ScriptBook() => _byTokenSpan = _byToken.GetAlternateLookup<ReadOnlySpan<char>>();

    public void Set(string deviceToken, MockApnsBehavior behavior) => _byToken[deviceToken] = new Entry(behavior);

    public bool Remove(string deviceToken) => _byToken.TryRemove(deviceToken, out _);

    public void Clear() => _byToken.Clear();

    public void SetFault(int every, MockApnsBehavior behavior)
    {
        Interlocked.Exchange(ref _faultCounter, 0);
        _fault = new FaultRule(every, behavior);
    }

    public void ClearFault() => _fault = null;

    /// <summary>The behaviour for this request, or null to answer normally.</summary>
    public MockApnsBehavior? Next(ReadOnlySpan<char> deviceToken)
    {
        if (_byTokenSpan.TryGetValue(deviceToken, out var key, out var entry))
        {
            if (entry.TryTake())
            {
                return entry.Behavior;
            }

            // Used up: remove this entry only, not one a test set again meanwhile.
            _byToken.TryRemove(new KeyValuePair<string, Entry>(key, entry));
        }

        var fault = _fault;
        if (fault is not null && Interlocked.Increment(ref _faultCounter) % fault.Every == 0)
        {
            return fault.Behavior;
        }

        return null;
    }

    private sealed class Entry(MockApnsBehavior behavior)
    {
        private int _remaining = behavior.MaxRequests ?? int.MaxValue;

        public MockApnsBehavior Behavior { get; } = behavior;

        public bool TryTake() => Behavior.MaxRequests is null || Interlocked.Decrement(ref _remaining) >= 0;
    }

    private sealed record FaultRule(int Every, MockApnsBehavior Behavior);
}
