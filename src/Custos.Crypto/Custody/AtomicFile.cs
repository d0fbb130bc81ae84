using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Crypto.Custody;

/// <summary>
/// Writes secret-bearing files so that a reader sees the old file or the whole new one, never a torn write, and so
/// that the content is never readable by anyone but the owner, not even for a moment.
/// </summary>
internal static class AtomicFile
{
    public const UnixFileMode OwnerOnly = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public static void Write(string path, ReadOnlySpan<byte> content, bool overwrite)
    {
        string fullPath;
        try
        {
            fullPath = Path.GetFullPath(path);
        }
        catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"'{path}' is not a usable file path");
        }

        var directory = Path.GetDirectoryName(fullPath) ?? throw new CustosException(ErrorCode.StorageIo, $"'{path}' has no parent directory");
        if (!overwrite && File.Exists(fullPath)) throw Exists(fullPath);

        // The temporary file sits in the same directory so the final rename stays within one file system.
        var temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8))}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            // Created 0600 from the start (umask can only remove bits), so the bytes are never world-readable.
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = OwnerOnly;
            using (var stream = new FileStream(temporary, options))
            {
                stream.Write(content);
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(temporary, OwnerOnly);
            File.Move(temporary, fullPath, overwrite);
        }
        catch (IOException) when (!overwrite && File.Exists(fullPath))
        {
            // Another writer won the race between the check above and the rename.
            throw Exists(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot write {fullPath}: {e.Message}", e);
        }
        finally
        {
            try
            {
                if (File.Exists(temporary)) File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Best effort: the leftover is encrypted and owner-only; the write's own outcome is what matters.
            }
        }
    }

    /// <summary>Reads a whole file of at most <paramref name="maximumBytes"/>; a missing file is <see cref="ErrorCode.KeyNotFound"/>.</summary>
    public static byte[] ReadSmall(string path, int maximumBytes, ErrorCode tooLargeCode, string what)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length > maximumBytes) throw new CustosException(tooLargeCode, $"the {what} {path} is larger than {maximumBytes} bytes");
            var content = new byte[stream.Length];
            stream.ReadExactly(content);
            return content;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CustosException(ErrorCode.KeyNotFound, $"there is no {what} at {path}");
        }
        catch (EndOfStreamException)
        {
            throw new CustosException(tooLargeCode, $"the {what} {path} changed while it was read");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            throw new CustosException(ErrorCode.StorageIo, $"cannot read the {what} {path}: {e.Message}", e);
        }
    }

    private static CustosException Exists(string path) =>
        new(ErrorCode.StorageIo, $"{path} already exists; refusing to overwrite a key file (pass overwrite to replace it)");
}
