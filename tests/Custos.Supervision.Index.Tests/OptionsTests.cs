using Custos.Core;
using Custos.Core.Wire;

namespace Custos.Supervision.Index.Tests;

public sealed class OptionsTests
{
    private const string Secret = "s3cret-never-printed";

    [Fact]
    public void Options_describe_the_target_without_the_password()
    {
        var options = new SupervisionIndexOptions($"Host=db.example;Port=5433;Database=supervision;Username=custos;Password={Secret}") { Schema = "audit" };

        var text = options.ToString();

        Assert.Equal("postgresql://custos@db.example:5433/supervision schema audit", text);
        Assert.DoesNotContain(Secret, text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Host=localhost", "Audit", 1000)]
    [InlineData("Host=localhost", "custos; DROP TABLE blocks", 1000)]
    [InlineData("Host=localhost", "", 1000)]
    [InlineData("Host=localhost", "custos", 0)]
    [InlineData("", "custos", 1000)]
    [InlineData("Nonsense Key=1;Password=" + Secret, "custos", 1000)]
    public void Bad_options_are_refused_with_a_typed_error_that_does_not_echo_the_password(string connectionString, string schema, int pollMs)
    {
        var options = new SupervisionIndexOptions(connectionString) { Schema = schema, PollInterval = TimeSpan.FromMilliseconds(pollMs) };

        var refused = Assert.Throws<CustosException>(options.Validate);

        Assert.Equal(ErrorCode.InvalidField, refused.Code);
        Assert.DoesNotContain(Secret, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unreachable_database_is_a_storage_io_error()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        var options = new SupervisionIndexOptions($"Host=127.0.0.1;Port={port};Username=custos;Password={Secret};Timeout=5");

        var refused = await Assert.ThrowsAsync<CustosException>(() => SupervisionIndexWriter.OpenAsync(options, TestContext.Current.CancellationToken));

        Assert.Equal(ErrorCode.StorageIo, refused.Code);
        Assert.DoesNotContain(Secret, refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_transfer_decoding_takes_only_well_formed_token_events()
    {
        var payer = new AccountId(0, 1).ToByteString();
        var payee = new AccountId(0, 2).ToByteString();
        IndexedEvent Event(string contract, string name, Custos.Execution.Wire.TransferEvent data) =>
            new(contract, name, Google.Protobuf.MessageExtensions.ToByteArray(data));

        Assert.Equal(new TokenTransfer("transfer", new AccountId(0, 1), new AccountId(0, 2), 5),
            TokenTransfer.TryDecode(Event("token", "transfer", new() { From = payer, To = payee, Amount = 5 })));
        Assert.Equal(new TokenTransfer("mint", null, new AccountId(0, 2), 7),
            TokenTransfer.TryDecode(Event("token", "mint", new() { To = payee, Amount = 7 })));
        Assert.Equal(new TokenTransfer("forced_transfer", new AccountId(0, 1), new AccountId(0, 2), 9),
            TokenTransfer.TryDecode(Event("system.supervision", "forced_transfer", new() { From = payer, To = payee, Amount = 9 })));
        Assert.Null(TokenTransfer.TryDecode(Event("system.supervision", "transfer", new() { From = payer, To = payee, Amount = 5 })));
        Assert.Null(TokenTransfer.TryDecode(Event("other", "transfer", new() { From = payer, To = payee, Amount = 5 })));
        Assert.Null(TokenTransfer.TryDecode(Event("token", "burn", new() { From = payer, To = payee, Amount = 5 })));
        Assert.Null(TokenTransfer.TryDecode(Event("token", "transfer", new() { To = payee, Amount = 5 })));
        Assert.Null(TokenTransfer.TryDecode(Event("token", "mint", new() { From = payer, To = payee, Amount = 5 })));
    }
}
