// Stack buffers in the tree code are always written before they are read; skipping their zeroing saves a memset of
// several kilobytes per visited node, thousands of times per block.
[module: System.Runtime.CompilerServices.SkipLocalsInit]
