using Microsoft.Extensions.Logging;

namespace Relay.Apns;

/// <summary>
/// Makes an APNs outage or a configuration fault visible at the default log level without a line per push: when at
/// least <see cref="MinimumFailures"/> sends, and at least half of them, failed within a <see cref="Window"/>, it
/// logs one Warning (an Error when APNs rejected the configuration) with the counts, at most once per
/// <see cref="ReportInterval"/> for its pool.
/// </summary>
/// <remarks>
/// A failure is a send without an answer, a retry-later rejection (5xx, an expired or refused provider token, a
/// connection APNs asked to leave) or a configuration fault. Answers about one device (a dead token, too many
/// pushes to it) are the normal life of a relay and do not count.
/// </remarks>
internal sealed partial class ApnsOutageWatch(ApnsEnvironment environment, Uri endpoint, TimeProvider time, ILogger logger)
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan ReportInterval = TimeSpan.FromMinutes(1);
    public const int MinimumFailures = 10;

    private readonly Lock _lock = new();
    private readonly string _endpoint = endpoint.Authority;
    private long _windowStart = time.GetTimestamp();
    private long _lastReport;
    private bool _reported;
    private int _attempts;
    private int _noAnswer;
    private int _retryLater;
    private int _configurationFaults;
    private string? _lastFailure;

    public void Answered(ApnsResponse response)
    {
        switch (response.Outcome)
        {
            case ApnsOutcome.ConfigurationFault:
                Add(configurationFault: 1, lastFailure: response.ReasonText ?? Status(response));
                break;
            case ApnsOutcome.RetryLater when response.Reason != ApnsRejectionReason.TooManyRequests:
                Add(retryLater: 1, lastFailure: response.ReasonText ?? Status(response));
                break;
            default:
                Add();
                break;
        }
    }

    public void NoAnswer(ApnsFailure failure) => Add(noAnswer: 1, lastFailure: failure switch
    {
        ApnsFailure.Timeout => "no answer in time",
        ApnsFailure.Stream => "streams reset",
        ApnsFailure.InvalidRequest => "request refused by the HTTP stack",
        _ => "connection failed",
    });

    private void Add(int noAnswer = 0, int retryLater = 0, int configurationFault = 0, string? lastFailure = null)
    {
        int attempts, noAnswers, retriesLater, configurationFaults;
        string? last;
        lock (_lock)
        {
            var now = time.GetTimestamp();
            if (time.GetElapsedTime(_windowStart, now) >= Window)
            {
                _windowStart = now;
                _attempts = _noAnswer = _retryLater = _configurationFaults = 0;
            }

            _attempts++;
            _noAnswer += noAnswer;
            _retryLater += retryLater;
            _configurationFaults += configurationFault;
            _lastFailure = lastFailure ?? _lastFailure;
            var failures = _noAnswer + _retryLater + _configurationFaults;
            if (lastFailure is null || failures < MinimumFailures || failures * 2 < _attempts
                || (_reported && time.GetElapsedTime(_lastReport, now) < ReportInterval))
            {
                return;
            }

            _reported = true;
            _lastReport = now;
            (attempts, noAnswers, retriesLater, configurationFaults, last) = (_attempts, _noAnswer, _retryLater, _configurationFaults, _lastFailure);
        }

        var failed = noAnswers + retriesLater + configurationFaults;
        if (configurationFaults > 0)
        {
            LogConfigurationFaults(logger, environment, _endpoint, configurationFaults, failed, attempts, Window, noAnswers, retriesLater, last);
        }
        else
        {
            LogOutage(logger, environment, _endpoint, failed, attempts, Window, noAnswers, retriesLater, last);
        }
    }

    private static string Status(ApnsResponse response) => response.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [LoggerMessage(Level = LogLevel.Warning,
        Message = "APNs {Environment} ({Endpoint}) is failing: {Failed} of {Attempts} sends in {Window} failed, {NoAnswer} without an answer and {RetryLater} to retry later; last: {LastFailure}")]
    private static partial void LogOutage(ILogger logger, ApnsEnvironment environment, string endpoint, int failed, int attempts,
        TimeSpan window, int noAnswer, int retryLater, string? lastFailure);

    [LoggerMessage(Level = LogLevel.Error,
        Message = "APNs {Environment} ({Endpoint}) rejects the relay's configuration: {ConfigurationFaults} configuration faults among {Failed} failures of {Attempts} sends in {Window} ({NoAnswer} without an answer, {RetryLater} to retry later); last: {LastFailure}. Check the APNs key, team and topics")]
    private static partial void LogConfigurationFaults(ILogger logger, ApnsEnvironment environment, string endpoint, int configurationFaults,
        int failed, int attempts, TimeSpan window, int noAnswer, int retryLater, string? lastFailure);
}
