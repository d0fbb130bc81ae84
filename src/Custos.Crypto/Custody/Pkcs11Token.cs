using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Custos.Core;
using Custos.Core.Wire;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;

namespace Custos.Crypto.Custody;

/// <summary>
/// One logged-in token of one loaded PKCS#11 module, shared by every <see cref="Pkcs11KeyStore"/> of the process
/// that names it. Sharing is forced by PKCS#11 itself: a module is initialised once per process (C_Initialize),
/// and login state belongs to the application, not to a session. A login session stays open for the token's
/// lifetime so the login holds; operations borrow other sessions from a pool, because a PKCS#11 session must not
/// be used by two threads at once.
/// </summary>
internal sealed class Pkcs11Token
{
    private static readonly Lock Registry = new();
    private static readonly Dictionary<string, LoadedModule> Modules = new(StringComparer.Ordinal);
    private static readonly Dictionary<(string Module, ulong Slot), Pkcs11Token> Tokens = new();

    // PINs are compared through a keyed digest so that no PIN is kept in memory after login.
    private static readonly byte[] PinDigestKey = RandomNumberGenerator.GetBytes(32);

    static Pkcs11Token() => NativeLoader.Install();

    private readonly LoadedModule _module;
    private readonly ISlot _slot;
    private readonly ISession _loginSession;
    private readonly byte[] _pinDigest;
    private readonly ConcurrentBag<ISession> _idle = [];
    private int _references = 1;
    private volatile bool _closed;

    private Pkcs11Token(LoadedModule module, ISlot slot, string label, ISession loginSession, byte[] pinDigest)
    {
        _module = module;
        _slot = slot;
        Label = label;
        _loginSession = loginSession;
        _pinDigest = pinDigest;
    }

    public string Label { get; }

    public string ModulePath => _module.Path;

    /// <summary>Loads the module if needed, finds the token and logs in (or joins this process's existing login).</summary>
    public static Pkcs11Token Acquire(string modulePath, string tokenLabel, string? tokenSerial, ReadOnlySpan<byte> pin)
    {
        if (pin.IsEmpty) throw new CustosException(ErrorCode.HsmFailure, "the HSM PIN is empty");
        var pinDigest = HMACSHA256.HashData(PinDigestKey, pin);
        lock (Registry)
        {
            var module = LoadedModule.Acquire(modulePath);
            try
            {
                var slot = FindSlot(module, tokenLabel, tokenSerial);
                if (Tokens.TryGetValue((module.Path, slot.SlotId), out var existing))
                {
                    // The process is already logged in to this token; a different PIN cannot be right, and
                    // accepting it would let any PIN through while another store is open.
                    if (!CryptographicOperations.FixedTimeEquals(existing._pinDigest, pinDigest))
                    {
                        throw new CustosException(ErrorCode.HsmFailure, $"the PIN for token '{tokenLabel}' is incorrect");
                    }

                    existing._references++;
                    module.Release();
                    return existing;
                }

                var session = Guard($"open a session on token '{tokenLabel}'", () => slot.OpenSession(SessionType.ReadWrite));
                try
                {
                    Login(session, tokenLabel, pin);
                }
                catch
                {
                    session.Dispose();
                    throw;
                }

                var token = new Pkcs11Token(module, slot, tokenLabel, session, pinDigest);
                Tokens[(module.Path, slot.SlotId)] = token;
                return token;
            }
            catch
            {
                module.Release();
                throw;
            }
        }
    }

    private static void Login(ISession session, string tokenLabel, ReadOnlySpan<byte> pin)
    {
        var copy = pin.ToArray();
        try
        {
            session.Login(CKU.CKU_USER, copy);
        }
        catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
        {
            // Another part of the process (outside this class) logged in; the login is shared, so proceed.
        }
        catch (Pkcs11Exception e)
        {
            throw Map(e, $"log in to token '{tokenLabel}'");
        }
        finally
        {
            CryptographicOperations.ZeroMemory(copy);
        }
    }

    private static ISlot FindSlot(LoadedModule module, string tokenLabel, string? tokenSerial)
    {
        var slots = Guard("list the module's slots", () => module.Library.GetSlotList(SlotsType.WithTokenPresent));
        var matches = new List<ISlot>();
        foreach (var slot in slots)
        {
            var info = Guard("read token information", slot.GetTokenInfo);
            if (!info.TokenFlags.TokenInitialized) continue;
            if (info.Label.TrimEnd() != tokenLabel) continue;
            if (tokenSerial is not null && info.SerialNumber.TrimEnd() != tokenSerial) continue;
            matches.Add(slot);
        }

        return matches.Count switch
        {
            0 => throw new CustosException(ErrorCode.KeyNotFound,
                $"no token labelled '{tokenLabel}'{(tokenSerial is null ? "" : $" with serial '{tokenSerial}'")} in {module.Path}"),
            1 => matches[0],
            _ => throw new CustosException(ErrorCode.HsmFailure, $"{matches.Count} tokens are labelled '{tokenLabel}'; name one by its serial"),
        };
    }

    /// <summary>Runs one operation on a session of its own; PKCS#11 failures become <see cref="CustosException"/>s.</summary>
    public T Run<T>(string what, Func<ISession, T> operation)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (!_idle.TryTake(out var session)) session = Guard($"open a session on token '{Label}'", () => _slot.OpenSession(SessionType.ReadWrite));
        var reusable = true;
        try
        {
            return operation(session);
        }
        catch (Pkcs11Exception e)
        {
            reusable = !IsSessionLost(e.RV);
            throw Map(e, what);
        }
        finally
        {
            if (reusable && !_closed) _idle.Add(session);
            else session.Dispose();
        }
    }

    /// <summary>Whether the token lists <paramref name="mechanism"/> among its mechanisms (C_GetMechanismList).</summary>
    public bool SupportsMechanism(ulong mechanism)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        return Guard($"list the mechanisms of token '{Label}'", _slot.GetMechanismList).Contains((CKM)mechanism);
    }

    public void Release()
    {
        lock (Registry)
        {
            if (--_references > 0) return;
            _closed = true;
            Tokens.Remove((_module.Path, _slot.SlotId));
            while (_idle.TryTake(out var session)) session.Dispose();
            try
            {
                _loginSession.Logout();
            }
            catch (Pkcs11Exception)
            {
                // Closing the last session ends the login anyway.
            }

            _loginSession.Dispose();
            _module.Release();
        }
    }

    private static bool IsSessionLost(CKR rv) => rv is CKR.CKR_SESSION_HANDLE_INVALID or CKR.CKR_SESSION_CLOSED or CKR.CKR_DEVICE_REMOVED
        or CKR.CKR_TOKEN_NOT_PRESENT or CKR.CKR_DEVICE_ERROR or CKR.CKR_USER_NOT_LOGGED_IN;

    internal static T Guard<T>(string what, Func<T> operation)
    {
        try
        {
            return operation();
        }
        catch (Pkcs11Exception e)
        {
            throw Map(e, what);
        }
    }

    /// <summary>Turns a PKCS#11 return value into a typed error. Messages name the operation and the code, never a PIN.</summary>
    internal static CustosException Map(Pkcs11Exception e, string what) => e.RV switch
    {
        CKR.CKR_PIN_INCORRECT => new(ErrorCode.HsmFailure, $"cannot {what}: the PIN is incorrect"),
        CKR.CKR_PIN_LOCKED => new(ErrorCode.HsmFailure, $"cannot {what}: the PIN is locked after too many wrong attempts; the security officer must reset it"),
        CKR.CKR_PIN_EXPIRED => new(ErrorCode.HsmFailure, $"cannot {what}: the PIN has expired"),
        CKR.CKR_PIN_INVALID or CKR.CKR_PIN_LEN_RANGE => new(ErrorCode.HsmFailure, $"cannot {what}: the token does not accept a PIN of this form"),
        CKR.CKR_USER_PIN_NOT_INITIALIZED => new(ErrorCode.HsmFailure, $"cannot {what}: the token's user PIN has not been set"),
        CKR.CKR_USER_NOT_LOGGED_IN => new(ErrorCode.HsmFailure, $"cannot {what}: the token session is not logged in"),
        CKR.CKR_OBJECT_HANDLE_INVALID or CKR.CKR_KEY_HANDLE_INVALID => new(ErrorCode.KeyNotFound, $"cannot {what}: the key no longer exists in the token"),
        CKR.CKR_MECHANISM_INVALID or CKR.CKR_MECHANISM_PARAM_INVALID or CKR.CKR_KEY_TYPE_INCONSISTENT or CKR.CKR_KEY_FUNCTION_NOT_PERMITTED =>
            new(ErrorCode.HsmFailure, $"cannot {what}: the token refused the mechanism ({e.RV}); check the PKCS#11 mechanism set for this token"),
        CKR.CKR_DEVICE_REMOVED or CKR.CKR_TOKEN_NOT_PRESENT => new(ErrorCode.HsmFailure, $"cannot {what}: the token was removed"),
        _ => new(ErrorCode.HsmFailure, $"cannot {what}: {e.Method} returned {e.RV}"),
    };

    /// <summary>
    /// Pkcs11Interop 5.3 binds dlopen from "libdl", a name that glibc 2.34 and later no longer ship unversioned
    /// (only libdl.so.2, or libc itself on musl). Resolving it here makes the package load on current distributions.
    /// </summary>
    private static class NativeLoader
    {
        public static void Install()
        {
            if (!OperatingSystem.IsLinux()) return;
            try
            {
                NativeLibrary.SetDllImportResolver(typeof(Pkcs11InteropFactories).Assembly, Resolve);
            }
            catch (InvalidOperationException)
            {
                // The host already installed a resolver for the package; it takes precedence.
            }
        }

        private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
        {
            if (name != "libdl") return IntPtr.Zero;
            foreach (var candidate in (string[])["libdl.so.2", "libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1"])
            {
                if (NativeLibrary.TryLoad(candidate, out var handle)) return handle;
            }

            return IntPtr.Zero;
        }
    }

    /// <summary>
    /// A module loaded and initialised once per process and kept until the process exits. It is never finalised
    /// and unloaded early: modules such as SoftHSM2 share the process's OpenSSL with .NET and install OpenSSL engines
    /// (SoftHSM2 makes rdrand the default RAND engine); unloading one runs its static destructors, which tear those
    /// down while other threads may be using OpenSSL. A node opens its token once and keeps it anyway.
    /// </summary>
    private sealed class LoadedModule
    {
        private LoadedModule(string path, IPkcs11Library library)
        {
            Path = path;
            Library = library;
        }

        public string Path { get; }

        public IPkcs11Library Library { get; }

        /// <summary>Callers hold <see cref="Registry"/>.</summary>
        public static LoadedModule Acquire(string modulePath)
        {
            string path;
            try
            {
                path = System.IO.Path.GetFullPath(modulePath);
            }
            catch (Exception e) when (e is ArgumentException or NotSupportedException or PathTooLongException)
            {
                throw new CustosException(ErrorCode.HsmFailure, $"'{modulePath}' is not a usable PKCS#11 module path");
            }

            if (Modules.TryGetValue(path, out var loaded)) return loaded;

            if (!File.Exists(path)) throw new CustosException(ErrorCode.HsmFailure, $"there is no PKCS#11 module at {path}");
            IPkcs11Library library;
            try
            {
                var factories = new Pkcs11InteropFactories();
                // MultiThreaded: the module does its own locking (CKF_OS_LOCKING_OK), as the session pool needs.
                library = factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, path, AppType.MultiThreaded);
            }
            catch (Pkcs11Exception e)
            {
                throw Map(e, $"initialise the PKCS#11 module {path}");
            }
            catch (Exception e) when (e is UnmanagedException or LibraryArchitectureException or DllNotFoundException or BadImageFormatException
                or EntryPointNotFoundException or UnsupportedPlatformException)
            {
                throw new CustosException(ErrorCode.HsmFailure, $"cannot load the PKCS#11 module {path}: {e.Message}", e);
            }

            loaded = new LoadedModule(path, library);
            Modules[path] = loaded;
            return loaded;
        }

        /// <summary>Callers hold <see cref="Registry"/>. Deliberately keeps the module loaded (see the class comment).</summary>
        public void Release()
        {
        }
    }
}
