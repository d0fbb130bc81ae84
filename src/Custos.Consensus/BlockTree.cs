using Custos.Core;

namespace Custos.Consensus;

/// <summary>
/// The blocks a node holds above its last committed block (the root), linked by parent hash, each with the QC
/// that certifies it once known. Blocks that do not descend from the root are pruned when the root moves.
/// Not thread-safe: owned by one engine.
/// </summary>
internal sealed class BlockTree
{
    private readonly Dictionary<Hash32, Node> _nodes = [];
    private Node _root;

    public BlockTree(BlockRecord root, QuorumCertificateView? rootQc)
    {
        _root = new Node(root, parent: null) { Qc = rootQc };
        _nodes.Add(root.Hash, _root);
    }

    public BlockRecord Root => _root.Block;

    public int Count => _nodes.Count;

    public bool Contains(Hash32 hash) => _nodes.ContainsKey(hash);

    public bool TryGet(Hash32 hash, out BlockRecord block)
    {
        if (_nodes.TryGetValue(hash, out var node))
        {
            block = node.Block;
            return true;
        }

        block = null!;
        return false;
    }

    public QuorumCertificateView? QcOf(Hash32 hash) => _nodes.TryGetValue(hash, out var node) ? node.Qc : null;

    /// <summary>The parent of a block in the tree; false for the root and unknown blocks.</summary>
    public bool TryGetParent(Hash32 hash, out BlockRecord parent)
    {
        parent = null!;
        if (!_nodes.TryGetValue(hash, out var node) || node.Parent is null) return false;
        parent = node.Parent.Block;
        return true;
    }

    /// <summary>Adds a block whose parent is in the tree at the height below. False if the parent is missing or the block is known.</summary>
    public bool TryInsert(BlockRecord block)
    {
        if (_nodes.ContainsKey(block.Hash) || !_nodes.TryGetValue(block.ParentHash, out var parent) || parent.Block.Height + 1 != block.Height)
        {
            return false;
        }

        var node = new Node(block, parent);
        parent.Children.Add(node);
        _nodes.Add(block.Hash, node);
        return true;
    }

    /// <summary>Records the QC of a block in the tree (the first one suffices: all QCs of a block certify the same thing).</summary>
    public bool SetCertified(QuorumCertificateView qc)
    {
        if (!_nodes.TryGetValue(qc.BlockHash, out var node) || node.Qc is not null) return false;
        node.Qc = qc;
        return true;
    }

    /// <summary>True if <paramref name="ancestor"/> is <paramref name="descendant"/> or one of its ancestors in the tree.</summary>
    public bool Extends(Hash32 descendant, Hash32 ancestor)
    {
        if (!_nodes.TryGetValue(descendant, out var node)) return false;
        for (; node is not null; node = node.Parent)
        {
            if (node.Block.Hash == ancestor) return true;
        }

        return false;
    }

    /// <summary>The blocks from just above <paramref name="from"/> up to <paramref name="to"/>, in increasing height; empty if <paramref name="to"/> does not extend <paramref name="from"/>.</summary>
    public List<BlockRecord> PathBetween(Hash32 from, Hash32 to)
    {
        var path = new List<BlockRecord>();
        if (!_nodes.TryGetValue(to, out var node)) return path;
        for (; node is not null && node.Block.Hash != from; node = node.Parent) path.Add(node.Block);
        if (node is null) return [];
        path.Reverse();
        return path;
    }

    /// <summary>Makes <paramref name="newRoot"/> (a descendant of the root) the root and drops every block that does not descend from it.</summary>
    public void PruneTo(Hash32 newRoot)
    {
        if (!_nodes.TryGetValue(newRoot, out var node) || newRoot == _root.Block.Hash) return;
        _nodes.Clear();
        node.Parent = null;
        var stack = new Stack<Node>();
        stack.Push(node);
        while (stack.Count > 0)
        {
            var next = stack.Pop();
            _nodes.Add(next.Block.Hash, next);
            foreach (var child in next.Children) stack.Push(child);
        }

        _root = node;
    }

    private sealed class Node(BlockRecord block, Node? parent)
    {
        public BlockRecord Block { get; } = block;

        public Node? Parent { get; set; } = parent;

        public List<Node> Children { get; } = [];

        public QuorumCertificateView? Qc { get; set; }
    }
}
