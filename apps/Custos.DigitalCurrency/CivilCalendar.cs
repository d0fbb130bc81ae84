namespace Custos.DigitalCurrency;

/// <summary>A civil date (proleptic Gregorian, UTC).</summary>
public readonly record struct CivilDate(long Year, int Month, int Day);

/// <summary>
/// Civil days and years from a block header's timestamp (milliseconds since 1970-01-01 UTC), by integer arithmetic
/// only: every node computes the same window for the same block, whatever its clock, time zone or culture.
/// </summary>
public static class CivilCalendar
{
    public const ulong MillisecondsPerDay = 86_400_000;

    /// <summary>Days since 1970-01-01 UTC: the daily limit's window.</summary>
    public static ulong DayNumber(ulong timestampMs) => timestampMs / MillisecondsPerDay;

    /// <summary>The civil year of a timestamp: the annual limit's window.</summary>
    public static long Year(ulong timestampMs) => DateOf(DayNumber(timestampMs)).Year;

    /// <summary>
    /// The civil date of day <paramref name="dayNumber"/> since 1970-01-01. The count is shifted to start on
    /// 0000-03-01, so that the leap day is the last day of its (March-based) year; then 400-year eras of 146,097
    /// days, 100-year centuries, 4-year cycles and 365-day years are peeled off in turn.
    /// </summary>
    public static CivilDate DateOf(ulong dayNumber)
    {
        // 719,468 days from 0000-03-01 to 1970-01-01. Day numbers from a ulong timestamp stay below 2^38, far from overflow.
        var days = dayNumber + 719_468;
        var era = days / 146_097;
        var dayOfEra = days - era * 146_097;                                                               // 0 ..= 146,096
        var yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365;      // 0 ..= 399
        var dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100);                    // 0 ..= 365, from March 1
        var monthFromMarch = (5 * dayOfYear + 2) / 153;                                                    // 0 ..= 11
        var day = (int)(dayOfYear - (153 * monthFromMarch + 2) / 5 + 1);
        var month = (int)(monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9);
        var year = (long)(yearOfEra + era * 400) + (month <= 2 ? 1 : 0);
        return new CivilDate(year, month, day);
    }
}
