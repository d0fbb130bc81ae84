namespace Custos.Privacy.PrivateData;

/// <summary>
/// Where a node keeps its privacy files under its data directory: <c>privacy/records/</c> (the private data store),
/// <c>privacy/audit.log</c> (the read log) and <c>privacy/data.key</c> (the key file the node data key derives from).
/// </summary>
public sealed record PrivacyPaths(string Directory, string AuditLog, string DataKeyFile)
{
    public const string DirectoryName = "privacy";

    public static PrivacyPaths Under(string nodeDataDirectory)
    {
        var directory = Path.Combine(nodeDataDirectory, DirectoryName);
        return new PrivacyPaths(directory, Path.Combine(directory, "audit.log"), Path.Combine(directory, "data.key"));
    }

    /// <summary>The <c>file:</c> key reference of <see cref="DataKeyFile"/>, for <see cref="NodeDataKey.Open"/>.</summary>
    public string DataKeyReference => "file:" + Path.GetFullPath(DataKeyFile);
}
