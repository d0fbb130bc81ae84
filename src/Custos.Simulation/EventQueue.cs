namespace Custos.Simulation;

/// <summary>
/// Events ordered by virtual time, ties broken by insertion order, so that one seed always processes the same
/// events in the same order.
/// </summary>
internal sealed class EventQueue<T>
{
    private readonly PriorityQueue<T, (long Time, long Sequence)> _queue = new();
    private long _sequence;

    public int Count => _queue.Count;

    public void Enqueue(long time, T item) => _queue.Enqueue(item, (time, _sequence++));

    public bool TryDequeue(out T item, out long time)
    {
        if (_queue.TryDequeue(out item!, out var priority))
        {
            time = priority.Time;
            return true;
        }

        time = 0;
        return false;
    }
}
