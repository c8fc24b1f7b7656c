using System.Collections.Concurrent;

namespace Relay.MockApns;

/// <summary>The last <c>capacity</c> accepted notifications, oldest first.</summary>
internal sealed class NotificationLog(int capacity)
{
    private readonly ConcurrentQueue<MockApnsNotification> _queue = new();
    private int _count;

    public void Add(MockApnsNotification notification)
    {
        _queue.Enqueue(notification);
        if (Interlocked.Increment(ref _count) > capacity && _queue.TryDequeue(out _))
        {
            Interlocked.Decrement(ref _count);
        }
    }

    public MockApnsNotification[] Snapshot() => _queue.ToArray();

    public void Clear()
    {
        _queue.Clear();
        Interlocked.Exchange(ref _count, 0);
    }
}
