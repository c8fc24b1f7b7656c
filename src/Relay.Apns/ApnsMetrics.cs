using System.Diagnostics.Metrics;

namespace Relay.Apns;

/// <summary>
/// The client's instruments, on the meter <c>Relay.Apns</c>: requests by status and reason, their duration,
/// requests in flight, provider tokens signed, connections opened and connections retired.
/// </summary>
public sealed class ApnsMetrics
{
    /// <summary>The meter name to listen to (for OpenTelemetry: <c>AddMeter(ApnsMetrics.MeterName)</c>).</summary>
    public const string MeterName = "Relay.Apns";

    private static readonly object Status200 = 200;
    private static readonly object StatusNone = 0;

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly UpDownCounter<long> _inFlight;
    private readonly Counter<long> _tokens;
    private readonly Counter<long> _replaced;
    private readonly Counter<long> _opened;

    /// <summary>Creates the instruments on a meter from <paramref name="meterFactory"/> (or a standalone meter).</summary>
    public ApnsMetrics(IMeterFactory? meterFactory)
    {
        var meter = meterFactory?.Create(MeterName) ?? new Meter(MeterName);
        _requests = meter.CreateCounter<long>("apns.client.requests", "{request}", "APNs requests by HTTP status and APNs reason; status 0 when no answer came.");
        _duration = meter.CreateHistogram<double>("apns.client.request.duration", "s", "Time from send to APNs's answer, including internal retries.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] });
        _inFlight = meter.CreateUpDownCounter<long>("apns.client.requests.in_flight", "{request}", "Sends waiting for APNs's answer.");
        _tokens = meter.CreateCounter<long>("apns.client.provider_tokens", "{token}", "Provider tokens signed.");
        _replaced = meter.CreateCounter<long>("apns.client.connections.replaced", "{connection}", "Connections retired after a failure, a close or an APNs request to; their slot reconnects with backoff.");
        _opened = meter.CreateCounter<long>("apns.client.connections.opened", "{connection}", "TCP connections opened to APNs.");
    }

    internal void RequestStarted() => _inFlight.Add(1);

    internal void RequestEnded() => _inFlight.Add(-1);

    internal void Answered(ApnsResponse response, TimeSpan elapsed)
    {
        // Tags box the status: skip them when nobody listens, and box the common 200 once.
        var status = response.StatusCode == 200 ? Status200 : response.StatusCode;
        if (_requests.Enabled)
        {
            _requests.Add(1, new KeyValuePair<string, object?>("status", status), new KeyValuePair<string, object?>("reason", response.ReasonText ?? "none"));
        }

        if (_duration.Enabled)
        {
            _duration.Record(elapsed.TotalSeconds, new KeyValuePair<string, object?>("status", status));
        }
    }

    internal void Failed(string error) =>
        _requests.Add(1, new KeyValuePair<string, object?>("status", StatusNone), new KeyValuePair<string, object?>("reason", error));

    internal void TokenMinted() => _tokens.Add(1);

    internal void ConnectionReplaced() => _replaced.Add(1);

    internal void ConnectionOpened() => _opened.Add(1);
}
