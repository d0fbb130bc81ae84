using Custos.Core;
using Custos.Privacy.Masking;

namespace Custos.Privacy.Tests;

public sealed class IdentifierMaskTests
{
    [Fact]
    public void An_account_id_keeps_four_hex_characters_each_side()
    {
        Assert.Equal("0000" + new string('*', 24) + "0001", IdentifierMask.Account(new AccountId(0, 1)));
    }

    [Theory]
    [InlineData("李", "*")]
    [InlineData("张三", "张*")]
    [InlineData("王小明", "王*明")]
    [InlineData("欧阳娜娜", "欧**娜")]
    [InlineData("Zhang San", "Z*******n")]
    public void A_name_keeps_its_first_and_last_character(string name, string masked) => Assert.Equal(masked, IdentifierMask.Name(name));

    [Theory]
    [InlineData("6222021234567890123", "6222***********0123")]
    [InlineData("6222 0212 3456 7890", "6222 **** **** 7890")]
    [InlineData("12345678", "12****78")]
    public void A_card_number_keeps_a_short_prefix_and_suffix(string number, string masked) => Assert.Equal(masked, IdentifierMask.CardNumber(number));

    [Fact]
    public void A_phone_number_is_masked_as_banks_display_it() => Assert.Equal("138****5678", IdentifierMask.Mask(IdentifierKind.Phone, "13812345678"));

    [Fact]
    public void An_identity_number_keeps_two_characters_each_side() =>
        Assert.Equal("11" + new string('*', 14) + "34", IdentifierMask.Mask(IdentifierKind.IdentityNumber, "110101199003071234"));

    [Theory]
    [InlineData("abcd", "****")]
    [InlineData("abcdef", "a****f")]
    [InlineData("", "")]
    public void A_short_value_is_masked_almost_or_entirely(string value, string masked) => Assert.Equal(masked, IdentifierMask.Mask(IdentifierKind.Opaque, value));

    [Fact]
    public void Masks_always_hide_at_least_four_characters_and_a_third_of_the_value()
    {
        var random = new Random(14);
        foreach (var kind in new[] { IdentifierKind.Account, IdentifierKind.Pseudonym, IdentifierKind.IdentityNumber, IdentifierKind.Opaque, IdentifierKind.CardNumber })
        {
            for (var i = 0; i < 300; i++)
            {
                var value = new string(Enumerable.Range(0, random.Next(1, 40)).Select(_ => (char)('0' + random.Next(10))).ToArray());
                var masked = IdentifierMask.Mask(kind, value);
                Assert.Equal(value.Length, masked.Length);
                Assert.True(masked.Count(c => c == '*') >= IdentifierMask.HiddenMin(value.Length), $"{kind} {value} → {masked}");
            }
        }
    }

    [Fact]
    public void A_masked_identifier_formats_masked_and_reveals_only_when_asked()
    {
        var identifier = new MaskedIdentifier(IdentifierKind.CardNumber, "6222021234567890");
        Assert.Equal("6222********7890", $"{identifier}");
        Assert.Equal("6222021234567890", identifier.Reveal());
    }
}
