using Custos.Core;
using Custos.Core.Wire;
using Custos.Privacy.Classification;
using Custos.Privacy.Policy;
using Custos.Privacy.Wire;

namespace Custos.Privacy.Tests;

public sealed class ClassificationTests
{
    private static PrivacySchema Wallets() =>
        PrivacySchema.For("dcep")
            .Field("balance_band", DataClass.C1)
            .Field("name", DataClass.C2)
            .Field("account_number", DataClass.C2)
            .Field("payment_amount", DataClass.C2)
            .Field("password_hash", DataClass.C3)
            .Combination(DataClass.C3, "name with account number identifies and lets one impersonate", "name", "account_number")
            .Build();

    [Fact]
    public void A_single_field_takes_its_declared_class()
    {
        var schema = Wallets();
        Assert.Equal(DataClass.C1, schema.Classify("balance_band"));
        Assert.Equal(DataClass.C2, schema.Classify("name"));
        Assert.Equal(DataClass.C3, schema.Classify("password_hash"));
    }

    [Fact]
    public void A_record_takes_the_highest_class_of_its_fields()
    {
        var schema = Wallets();
        Assert.Equal(DataClass.C2, schema.Classify("balance_band", "payment_amount"));
        Assert.Equal(DataClass.C3, schema.Classify("balance_band", "password_hash"));
    }

    [Fact]
    public void A_declared_combination_raises_the_class_when_all_its_fields_are_present()
    {
        var schema = Wallets();
        Assert.Equal(DataClass.C3, schema.Classify("name", "account_number"));
        Assert.Equal(DataClass.C3, schema.Classify("balance_band", "account_number", "name"));
        Assert.Equal(DataClass.C2, schema.Classify("name", "payment_amount"));
    }

    [Fact]
    public void An_undeclared_field_is_refused_with_a_typed_error()
    {
        Assert.False(Wallets().TryClassify(["name", "mothers_maiden_name"], out _, out var error));
        Assert.Equal(ErrorCode.FieldUndeclared, error.Code);
    }

    [Fact]
    public void A_combination_that_does_not_raise_the_class_is_refused()
    {
        var builder = PrivacySchema.For("c").Field("a", DataClass.C2).Field("b", DataClass.C3);
        var failure = Assert.Throws<CustosException>(() => builder.Combination(DataClass.C3, "no-op", "a", "b"));
        Assert.Equal(ErrorCode.InvalidField, failure.Code);
    }

    [Fact]
    public void A_combination_of_undeclared_fields_is_refused()
    {
        var builder = PrivacySchema.For("c").Field("a", DataClass.C1);
        Assert.Equal(ErrorCode.FieldUndeclared, Assert.Throws<CustosException>(() => builder.Combination(DataClass.C2, "x", "a", "b")).Code);
    }

    [Fact]
    public void A_field_declared_twice_is_refused()
    {
        var builder = PrivacySchema.For("c").Field("a", DataClass.C1);
        Assert.Equal(ErrorCode.InvalidField, Assert.Throws<CustosException>(() => builder.Field("a", DataClass.C2)).Code);
    }

    [Fact]
    public void The_platform_not_the_contract_chooses_the_strategy_for_each_class()
    {
        var schema = Wallets();
        var policy = PrivacyPolicy.Default;
        Assert.Equal(PrivacyStrategy.Public, policy.StrategyFor(schema, ["balance_band"]));
        Assert.Equal(PrivacyStrategy.Encrypted, policy.StrategyFor(schema, ["payment_amount"]));
        Assert.Equal(PrivacyStrategy.DesignatedNodes, policy.StrategyFor(schema, ["name", "account_number"]));
    }
}
