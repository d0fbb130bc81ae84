using Custos.Core.Wire;

namespace Custos.Core;

/// <summary>A typed failure: a stable <see cref="ErrorCode"/> and a message for people. Never carries secrets.</summary>
public sealed record CustosError(ErrorCode Code, string Message)
{
    public override string ToString() => $"{ErrorCodes.Name(Code)}: {Message}";

    public CustosException ToException() => new(this);
}

/// <summary>
/// Raised where a typed error must cross an API that cannot return one (constructors, command handlers).
/// Inner layers prefer <c>TryX(..., out CustosError)</c>.
/// </summary>
public sealed class CustosException : Exception
{
    public CustosException(CustosError error, Exception? inner = null) : base(error.ToString(), inner) => Error = error;

    public CustosException(ErrorCode code, string message, Exception? inner = null) : this(new CustosError(code, message), inner)
    {
    }

    public CustosError Error { get; }

    public ErrorCode Code => Error.Code;
}

public static class ErrorCodes
{
    private static readonly Google.Protobuf.Reflection.EnumDescriptor ErrorCodeDescriptor =
        TypesReflection.Descriptor.FindTypeByName<Google.Protobuf.Reflection.EnumDescriptor>("ErrorCode");

    /// <summary>The stable, upper-snake name of a code as clients see it (for example <c>SIGNATURE_INVALID</c>).</summary>
    public static string Name(ErrorCode code)
    {
        var descriptor = ErrorCodeDescriptor.FindValueByNumber((int)code);
        return descriptor is null ? $"UNKNOWN_{(int)code}" : descriptor.Name["ERROR_CODE_".Length..];
    }
}
