using System.Runtime.InteropServices;

namespace Custos.Storage;

/// <summary>
/// Whether a directory's file system accepts O_DIRECT, which RocksDB then uses for flushes and compactions. Tree
/// nodes are written once and read through the node cache, so copying megabytes of them per block into the page
/// cache on their way to disk only costs CPU: in the storage bench that copy was a tenth of all CPU time. File systems
/// without O_DIRECT (older tmpfs, some FUSE mounts) fail such writes in the background, hence the probe.
/// </summary>
internal static partial class DirectIo
{
    private const int WriteOnly = 0x1;
    private const int Create = 0x40;
    private const int Exclusive = 0x80;

    public static bool IsSupportedIn(string directory)
    {
        // O_DIRECT is one of the few flags whose value differs between Linux architectures.
        var direct = RuntimeInformation.ProcessArchitecture switch
        {
            Architecture.X64 or Architecture.X86 => 0x4000,
            Architecture.Arm64 or Architecture.Arm => 0x10000,
            _ => 0,
        };
        if (direct == 0) return false;

        var probe = Path.Combine(directory, $".direct-io-probe-{Environment.ProcessId}-{Environment.CurrentManagedThreadId}");
        try
        {
            var descriptor = Open(probe, WriteOnly | Create | Exclusive | direct, 0x180);
            if (descriptor < 0) return false;
            Close(descriptor);
            return true;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
        finally
        {
            try
            {
                File.Delete(probe);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // A stray probe file is harmless: RocksDB ignores files it does not know.
            }
        }
    }

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags, int mode);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int descriptor);
}
