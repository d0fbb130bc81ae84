using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Supervision.Tests;

/// <summary>
/// A committed chain in memory for the monitor: blocks are appended as a node would commit them. Reading
/// <see cref="FailAt"/> throws, as a crash in the middle of catching up would stop the monitor.
/// </summary>
internal sealed class MemoryChain : ICommittedBlocks
{
    private readonly Lock _gate = new();
    private readonly List<CommittedBlock> _blocks = [];
    private TaskCompletionSource _appended = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MemoryChain(IEnumerable<CommittedBlock>? blocks = null)
    {
        foreach (var block in blocks ?? []) Append(block);
    }

    public ulong? FailAt { get; set; }

    public HashSet<ulong> Missing { get; } = [];

    public ulong? Head
    {
        get
        {
            lock (_gate) return _blocks.Count == 0 ? null : _blocks[^1].Height;
        }
    }

    /// <summary>Appends a block; heights start at 0 and follow one another.</summary>
    public void Append(CommittedBlock block)
    {
        TaskCompletionSource appended;
        lock (_gate)
        {
            if (block.Height != (ulong)_blocks.Count) throw new InvalidOperationException($"block {block.Height} appended at {_blocks.Count}");
            _blocks.Add(block);
            appended = _appended;
            _appended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        appended.TrySetResult();
    }

    public CommittedBlock? Load(ulong height)
    {
        if (height == FailAt) throw new CustosException(ErrorCode.StorageIo, $"simulated crash reading block {height}");
        if (Missing.Contains(height)) return null;
        lock (_gate) return height < (ulong)_blocks.Count ? _blocks[(int)height] : null;
    }

    public async Task WaitForAsync(ulong height, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task next;
            lock (_gate)
            {
                if ((ulong)_blocks.Count > height) return;
                next = _appended.Task;
            }

            await next.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}
