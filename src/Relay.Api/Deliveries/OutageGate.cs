namespace Relay.Api.Deliveries;

/// <summary>
/// Keeps the relay from hammering an APNs environment that is failing: after <see cref="Threshold"/> outage answers
/// in a row (5xx, no answer) it holds new attempts back and lets one probe through per interval, the interval doubling
/// from <c>Delivery:RetryInitialDelay</c> to <c>Delivery:RetryMaxDelay</c> (at most <see cref="MaxHold"/>); the first
/// success opens it again. A held attempt is not lost: its
/// delivery stays <c>retrying</c> and becomes due when the gate may pass again.
/// </summary>
public sealed class OutageGate(TimeProvider time, TimeSpan firstHold, TimeSpan maxHold)
{
    public const int Threshold = 5;
    public static readonly TimeSpan MaxHold = TimeSpan.FromSeconds(30);

    private readonly Lock _lock = new();
    private readonly TimeSpan _firstHold = firstHold;
    private readonly TimeSpan _maxHold = maxHold < MaxHold ? maxHold : MaxHold;
    private int _failuresInARow;
    private TimeSpan _hold = firstHold;
    private DateTimeOffset? _heldUntil;
    private bool _probing;

    /// <summary>Whether attempts are being held back now.</summary>
    public bool IsHolding
    {
        get
        {
            lock (_lock)
            {
                return _heldUntil is not null;
            }
        }
    }

    /// <summary>Whether an attempt may go now; if not, when to try it again.</summary>
    public bool TryPass(out DateTimeOffset retryAt)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            retryAt = now;
            if (_heldUntil is not { } until)
            {
                return true;
            }

            if (now >= until && !_probing)
            {
                _probing = true;
                return true;
            }

            // Spread the held deliveries over the next interval, so reopening is not a thundering herd.
            var next = until > now ? until : now + _hold;
            retryAt = next + TimeSpan.FromMilliseconds(Random.Shared.Next(0, (int)Math.Max(1, _hold.TotalMilliseconds / 4)));
            return false;
        }
    }

    /// <summary>Records an attempt's result: an outage answer, or anything else (which shows APNs is working).</summary>
    public void Report(bool outage)
    {
        lock (_lock)
        {
            if (!outage)
            {
                _failuresInARow = 0;
                _hold = _firstHold;
                _heldUntil = null;
                _probing = false;
                return;
            }

            _failuresInARow++;
            if (_heldUntil is not null && !_probing)
            {
                return;
            }

            if (_failuresInARow >= Threshold || _probing)
            {
                _heldUntil = time.GetUtcNow() + _hold;
                _hold = _hold * 2 < _maxHold ? _hold * 2 : _maxHold;
                _probing = false;
            }
        }
    }
}
