using CsCheck;

namespace Custos.DigitalCurrency.Tests;

public sealed class CivilCalendarTests
{
    private static ulong Ms(int year, int month, int day, int hour = 0, int minute = 0, int second = 0, int millisecond = 0) =>
        (ulong)new DateTimeOffset(year, month, day, hour, minute, second, millisecond, TimeSpan.Zero).ToUnixTimeMilliseconds();

    [Fact]
    public void Civil_date_agrees_with_the_runtime_calendar_for_any_timestamp_up_to_year_9999()
    {
        Gen.ULong[0, Ms(9999, 12, 31, 23, 59, 59, 999)].Sample(timestamp =>
        {
            var expected = DateTimeOffset.FromUnixTimeMilliseconds((long)timestamp).UtcDateTime;
            var date = CivilCalendar.DateOf(CivilCalendar.DayNumber(timestamp));
            return date == new CivilDate(expected.Year, expected.Month, expected.Day) && CivilCalendar.Year(timestamp) == expected.Year;
        }, iter: 20_000);
    }

    [Fact]
    public void Leap_day_and_new_year_fall_on_their_own_civil_days()
    {
        Assert.Equal(new CivilDate(1970, 1, 1), CivilCalendar.DateOf(0));
        Assert.Equal(new CivilDate(2028, 2, 29), CivilCalendar.DateOf(CivilCalendar.DayNumber(Ms(2028, 2, 29, 12))));
        Assert.Equal(new CivilDate(2028, 3, 1), CivilCalendar.DateOf(CivilCalendar.DayNumber(Ms(2028, 2, 29, 23, 59, 59, 999) + 1)));
        Assert.Equal(new CivilDate(2100, 3, 1), CivilCalendar.DateOf(CivilCalendar.DayNumber(Ms(2100, 2, 28)) + 1));
        Assert.Equal(2026L, CivilCalendar.Year(Ms(2026, 12, 31, 23, 59, 59, 999)));
        Assert.Equal(2027L, CivilCalendar.Year(Ms(2026, 12, 31, 23, 59, 59, 999) + 1));
        Assert.Equal(CivilCalendar.DayNumber(Ms(2026, 12, 31)) + 1, CivilCalendar.DayNumber(Ms(2027, 1, 1)));
    }

    [Fact]
    public void Timestamps_far_beyond_the_runtime_calendar_still_give_a_date()
    {
        var date = CivilCalendar.DateOf(CivilCalendar.DayNumber(ulong.MaxValue));
        Assert.InRange(date.Month, 1, 12);
        Assert.InRange(date.Day, 1, 31);
        Assert.True(date.Year > 9999);
    }
}
