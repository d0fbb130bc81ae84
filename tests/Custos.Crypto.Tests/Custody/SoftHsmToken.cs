using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace Custos.Crypto.Tests.Custody;

/// <summary>
/// All tests that load a PKCS#11 module share one collection: a module is initialised once per process and reads
/// SOFTHSM2_CONF at C_Initialize, so they must not race.
/// </summary>
[CollectionDefinition(Name)]
public sealed class SoftHsmCollection : ICollectionFixture<SoftHsmToken>
{
    public const string Name = "SoftHSM token";
}

/// <summary>
/// A real SoftHSM2 token in a private directory, initialised with softhsm2-util for this test run. Where SoftHSM2
/// is not installed (package softhsm2), <see cref="SkipReason"/> says so and the tests skip.
/// </summary>
public sealed class SoftHsmToken : IDisposable
{
    public const string TokenLabel = "custos-test";
    public const string Pin = "4711-custos-user";
    private const string SoPin = "0815-custos-officer";

    private static readonly string[] ModuleCandidates =
    [
        "/usr/lib/softhsm/libsofthsm2.so",
        "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
        "/usr/lib64/pkcs11/libsofthsm2.so",
        "/usr/lib/pkcs11/libsofthsm2.so",
        "/usr/local/lib/softhsm/libsofthsm2.so",
    ];

    private readonly TemporaryDirectory? _directory;

    public SoftHsmToken()
    {
        PinVariable = "CUSTOS_TEST_HSM_PIN_" + Guid.NewGuid().ToString("N");
        if (!OperatingSystem.IsLinux())
        {
            SkipReason = "the SoftHSM2 tests run on Linux only";
            return;
        }

        var module = Environment.GetEnvironmentVariable("CUSTOS_SOFTHSM_MODULE") is { Length: > 0 } configured ? configured : ModuleCandidates.FirstOrDefault(File.Exists);
        var utility = FindOnPath("softhsm2-util");
        if (module is null || !File.Exists(module) || utility is null)
        {
            SkipReason = "SoftHSM2 is not installed (apt-get install softhsm2 provides softhsm2-util and libsofthsm2.so)";
            return;
        }

        ModulePath = module;
        _directory = new TemporaryDirectory();
        var tokens = Directory.CreateDirectory(_directory.File("tokens")).FullName;
        var configuration = _directory.File("softhsm2.conf");
        File.WriteAllText(configuration, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        Run(utility, configuration, "--init-token", "--free", "--label", TokenLabel, "--pin", Pin, "--so-pin", SoPin);

        // The module calls getenv at C_Initialize; .NET's Environment.SetEnvironmentVariable does not reach the C
        // environment on Unix, so set it through libc as well.
        NativeEnvironment.Set("SOFTHSM2_CONF", configuration);
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", configuration);
        Environment.SetEnvironmentVariable(PinVariable, Pin);
    }

    public string? SkipReason { get; }

    public string ModulePath { get; } = "";

    /// <summary>An environment variable holding the user PIN, as a deployment's pin-source=env:NAME would.</summary>
    public string PinVariable { get; }

    public void SkipIfUnavailable()
    {
        if (SkipReason is not null) Assert.Skip(SkipReason);
    }

    public string Uri(string objectLabel) =>
        $"pkcs11:token={TokenLabel};object={objectLabel}?module-path={ModulePath}&pin-source=env:{PinVariable}";

    /// <summary>A label no other test uses, so tests sharing the token never see each other's keys.</summary>
    public static string NewLabel(string purpose) => $"{purpose}-{Guid.NewGuid():N}";

    private static void Run(string utility, string configuration, params string[] arguments)
    {
        var start = new ProcessStartInfo(utility) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments) start.ArgumentList.Add(argument);
        start.Environment["SOFTHSM2_CONF"] = configuration;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("softhsm2-util did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"softhsm2-util {arguments[0]} failed with {process.ExitCode}: {error} {output.Result}");
        }
    }

    private static string? FindOnPath(string name)
    {
        foreach (var directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate)) return candidate;
        }

        return null;
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(PinVariable, null);
        _directory?.Dispose();
    }

    private static unsafe class NativeEnvironment
    {
        public static void Set(string name, string value)
        {
            var libc = NativeLibrary.Load("libc.so.6");
            var setenv = (delegate* unmanaged<byte*, byte*, int, int>)NativeLibrary.GetExport(libc, "setenv");
            var nameBytes = Encoding.UTF8.GetBytes(name + "\0");
            var valueBytes = Encoding.UTF8.GetBytes(value + "\0");
            fixed (byte* namePointer = nameBytes)
            fixed (byte* valuePointer = valueBytes)
            {
                if (setenv(namePointer, valuePointer, 1) != 0) throw new InvalidOperationException($"setenv({name}) failed");
            }
        }
    }
}
