// maeul_welfare_validate: the routine-aware `inactivity` rule against a plain `silence` rule on the
// Ordonez ADL homes (docs/welfare.md, "Routine-aware inactivity"). Both run in the real rule
// engine. Prints Markdown tables: false alarms per household-month on the untouched data, and
// detection delay when the resident stops at a random daytime activity (a fixed seed).
// Run by scripts/welfare-validate; a validation, not a test.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "maeul/rules/rules.hpp"
#include "welfare/adl.hpp"

namespace {

namespace r = maeul::rules;
namespace adl = maeul::adl;
using nlohmann::json;

constexpr std::int64_t us_s = 1000000, us_min = 60 * us_s, us_h = 60 * us_min, us_day = 24 * us_h;
constexpr double month_us = 30.44 * double(us_day);
constexpr std::int64_t missed = std::numeric_limits<std::int64_t>::max();

struct options {
  std::string data = "../shared/data/ordonez-adl";
  int trials = 300;
  std::uint64_t seed = 11;
  std::int64_t stop_for = 24 * us_h;
  int day_from = 8, day_to = 18;  // the stop falls on an activity between these hours
  std::vector<double> factors = {1.0, 1.5, 2.0, 3.0};
  double factor = 1.5;  // the configuration of the main table
  bool list = false;    // also list every false alarm of that configuration
};

// splitmix64: the same draws on every platform and standard library.
struct rng {
  std::uint64_t s;
  std::uint64_t next() {
    std::uint64_t z = (s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
};

std::string span(std::int64_t us) {
  if (us == missed) return "missed";
  std::int64_t m = (us + us_min - 1) / us_min, h = m / 60;
  if (h == 0) return std::to_string(m) + "m";
  return std::to_string(h) + "h" + (m % 60 ? std::to_string(m % 60) + "m" : "");
}

std::string fixed(double v, int digits = 1) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

r::rule make(json body) {
  body["id"] = "v";
  body["name"] = "validation";
  body["severity"] = "warning";
  body["selector"] = {{"kind", "home_activity"}};
  auto o = r::parse_rule(body);
  if (!o) throw std::runtime_error("bad rule: " + o.error().describe());
  return o.value();
}

r::rule inactivity(double factor) { return make({{"kind", "inactivity"}, {"factor", factor}}); }
r::rule silence(std::int64_t for_us) { return make({{"kind", "silence"}, {"for", for_us / us_s}}); }

struct home_run {
  adl::home h;
  std::vector<std::int64_t> times;
  std::int64_t begin = 0, end = 0, learned = 0;  // the evaluation window is [learned, end]
  std::vector<std::int64_t> stops;                // the injected stops (the same for every rule)
  double months() const { return double(end - learned) / month_us; }
};

struct outcome {
  int cold = 0, fa = 0, asleep = 0, out = 0;  // false alarms before learning; in the window (and why)
  std::vector<std::int64_t> delays;            // per stop; `missed` when none within stop_for
};

// P(X <= k) for X ~ Poisson(lambda).
double poisson_cdf(int k, double lambda) {
  double term = std::exp(-lambda), sum = term;
  for (int i = 1; i <= k; ++i) sum += term *= lambda / i;
  return sum;
}

// The exact (Garwood) 95% interval of a Poisson mean from k events, by bisection.
std::pair<double, double> poisson_interval(int k) {
  auto solve = [](auto too_low) {
    double lo = 0, hi = 1000;
    for (int i = 0; i < 200; ++i) {
      double mid = (lo + hi) / 2;
      (too_low(mid) ? lo : hi) = mid;
    }
    return (lo + hi) / 2;
  };
  double lower = k == 0 ? 0 : solve([&](double l) { return 1 - poisson_cdf(k - 1, l) < 0.025; });
  double upper = solve([&](double l) { return poisson_cdf(k, l) > 0.025; });
  return {lower, upper};
}

std::int64_t pct(std::vector<std::int64_t> v, double q) {
  if (v.empty()) return missed;
  std::sort(v.begin(), v.end());
  auto rank = std::size_t(std::ceil(q * double(v.size()) - 1e-9));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

outcome false_alarms(const home_run& hr, const r::rule& rule) {
  outcome o;
  auto res = adl::replay(rule, hr.times, {hr.begin, hr.end});
  for (auto t : res.opened) {
    if (t < hr.learned) {
      ++o.cold;
      continue;
    }
    ++o.fa;
    auto l = adl::label_at(hr.h, t);
    o.asleep += l == "Sleeping";
    o.out += l == "Leaving";
  }
  return o;
}

void detect(const home_run& hr, const r::rule& rule, const options& opt, outcome& o) {
  for (auto stop : hr.stops) {
    adl::replay_options ro{hr.begin, stop + opt.stop_for};
    ro.ticks_from_us = stop;
    ro.stop_us = stop;
    ro.stop_for_us = opt.stop_for;
    auto res = adl::replay(rule, hr.times, ro);
    auto it = std::find_if(res.opened.begin(), res.opened.end(), [&](std::int64_t t) { return t >= stop; });
    o.delays.push_back(it == res.opened.end() ? missed : *it - stop);
  }
}

outcome evaluate(const home_run& hr, const r::rule& rule, const options& opt) {
  auto o = false_alarms(hr, rule);
  detect(hr, rule, opt, o);
  return o;
}

struct pooled {
  int fa = 0, cold = 0, asleep = 0, out = 0, missed_n = 0;
  double months = 0;
  std::vector<std::int64_t> delays;
  double per_month() const { return months > 0 ? fa / months : 0; }
};

pooled pool(const std::vector<home_run>& homes, const std::vector<outcome>& os) {
  pooled p;
  for (std::size_t i = 0; i < homes.size(); ++i) {
    p.fa += os[i].fa;
    p.cold += os[i].cold;
    p.asleep += os[i].asleep;
    p.out += os[i].out;
    p.months += homes[i].months();
    for (auto d : os[i].delays) {
      p.delays.push_back(d);
      p.missed_n += d == missed;
    }
  }
  return p;
}

void row(const std::string& home, const std::string& rule, const pooled& p) {
  const auto [lo, hi] = poisson_interval(p.fa);
  std::printf("| %s | %s | %d | %s (%s-%s) | %d / %d / %d | %d | %s | %s | %s | %d of %zu |\n", home.c_str(),
              rule.c_str(), p.fa, fixed(p.per_month()).c_str(), fixed(lo / p.months).c_str(),
              fixed(hi / p.months).c_str(), p.asleep, p.out, p.fa - p.asleep - p.out, p.cold,
              span(pct(p.delays, 0.5)).c_str(), span(pct(p.delays, 0.9)).c_str(), span(pct(p.delays, 1.0)).c_str(),
              p.missed_n, p.delays.size());
}

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i <= s.size()) {
    auto j = s.find(',', i);
    if (j == std::string::npos) j = s.size();
    out.push_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

int usage() {
  std::fprintf(stderr,
               "usage: maeul_welfare_validate [--data DIR] [--trials N] [--seed S] [--stop-hours H] [--factor F]\n"
               "                              [--factors F,F,...] [--list]\n"
               "  DIR defaults to ../shared/data/ordonez-adl (run from the repository root)\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  options opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--list") {
      opt.list = true;
      continue;
    }
    if (i + 1 >= argc) return usage();
    std::string v = argv[++i];
    try {
      if (a == "--data") opt.data = v;
      else if (a == "--trials") opt.trials = std::stoi(v);
      else if (a == "--seed") opt.seed = std::stoull(v);
      else if (a == "--stop-hours") opt.stop_for = std::stoll(v) * us_h;
      else if (a == "--factor") opt.factor = std::stod(v);
      else if (a == "--factors") {
        opt.factors.clear();
        for (const auto& f : split(v)) opt.factors.push_back(std::stod(f));
      } else return usage();
    } catch (const std::exception&) {
      return usage();
    }
  }
  if (opt.trials < 1) return usage();

  std::vector<home_run> homes;
  try {
    for (const char* name : {"A", "B"}) {
      home_run hr;
      hr.h = adl::load_home(opt.data, name);
      hr.times = adl::activity_times(hr.h);
      if (hr.times.size() < 2) throw std::runtime_error(std::string("home ") + name + " has no activity");
      hr.begin = hr.times.front();
      hr.end = hr.times.back();
      homes.push_back(std::move(hr));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "maeul_welfare_validate: %s\n", e.what());
    return 1;
  }

  // The evaluation window starts when the routine has learned (min_days after the first activity,
  // the same for every factor); the stops fall on daytime activities inside it.
  rng g{opt.seed};
  for (auto& hr : homes) {
    auto res = adl::replay(inactivity(opt.factor), hr.times, {hr.begin, hr.end});
    if (res.learned_at_us < 0) {
      std::fprintf(stderr, "maeul_welfare_validate: home %s: the routine never learned (too few days)\n", hr.h.name.c_str());
      return 1;
    }
    hr.learned = res.learned_at_us;
    std::vector<std::int64_t> candidates;
    for (auto t : hr.times) {
      const auto hour = (t % us_day + us_day) % us_day / us_h;
      if (t >= hr.learned && hour >= opt.day_from && hour < opt.day_to) candidates.push_back(t);
    }
    if (candidates.empty()) return 1;
    for (int k = 0; k < opt.trials; ++k) hr.stops.push_back(candidates[g.next() % candidates.size()]);
  }

  std::printf("### Data\n\n| home | days | activations | activity times | learned window | skipped lines |\n|---|---|---|---|---|---|\n");
  for (const auto& hr : homes)
    std::printf("| %s | %s | %zu | %zu | %s days | %zu |\n", hr.h.name.c_str(), fixed(double(hr.end - hr.begin) / us_day).c_str(),
                hr.h.sensors.size(), hr.times.size(), fixed(double(hr.end - hr.learned) / us_day).c_str(),
                hr.h.sensors_report.skipped.size() + hr.h.labels_report.skipped.size());

  // Silence over a grid of durations: false alarms in the same windows, for the matching.
  std::vector<std::pair<std::int64_t, double>> silence_fa;  // (for, pooled false alarms per household-month)
  for (std::int64_t f = 15 * us_min; f <= 24 * us_h; f += 15 * us_min) {
    std::vector<outcome> os;
    for (const auto& hr : homes) os.push_back(false_alarms(hr, silence(f)));
    silence_fa.emplace_back(f, pool(homes, os).per_month());
  }
  auto same_budget = [&](double budget) {
    for (const auto& [f, pm] : silence_fa)
      if (pm <= budget + 1e-9) return f;
    return silence_fa.back().first;
  };

  struct line {
    double factor;
    pooled in, by_budget, by_delay;
    std::int64_t budget_for, delay_for;
    std::vector<outcome> per_home_in, per_home_budget, per_home_delay;
  };
  std::vector<double> factors = opt.factors;
  if (std::find(factors.begin(), factors.end(), opt.factor) == factors.end()) factors.push_back(opt.factor);
  std::vector<line> lines;
  for (double f : factors) {
    line l;
    l.factor = f;
    for (const auto& hr : homes) l.per_home_in.push_back(evaluate(hr, inactivity(f), opt));
    l.in = pool(homes, l.per_home_in);
    l.budget_for = same_budget(l.in.per_month());
    const auto median = pct(l.in.delays, 0.5);
    l.delay_for = median == missed ? 24 * us_h : std::max<std::int64_t>(us_min, (median + us_min - 1) / us_min * us_min);
    for (const auto& hr : homes) {
      l.per_home_budget.push_back(evaluate(hr, silence(l.budget_for), opt));
      l.per_home_delay.push_back(evaluate(hr, silence(l.delay_for), opt));
    }
    l.by_budget = pool(homes, l.per_home_budget);
    l.by_delay = pool(homes, l.per_home_delay);
    lines.push_back(std::move(l));
  }

  const auto& main_line = *std::find_if(lines.begin(), lines.end(), [&](const line& l) { return l.factor == opt.factor; });
  std::printf("\n### Inactivity (factor %s) beside silence\n\n", fixed(opt.factor, 1).c_str());
  std::printf("%d stops per home (seed %llu), each at a random activity between %02d:00 and %02d:00 in the learned "
              "window, followed by %s without any activity.\n\n",
              opt.trials, (unsigned long long)opt.seed, opt.day_from, opt.day_to, span(opt.stop_for).c_str());
  std::printf("| home | rule | false alarms | per household-month (95%% interval) | asleep / out / other | in the learning days (not counted) | delay median | p90 | max | missed |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  const std::string in_name = "inactivity", budget_name = "silence " + span(main_line.budget_for) + " (same false alarms)",
                    delay_name = "silence " + span(main_line.delay_for) + " (same median delay)";
  for (std::size_t i = 0; i < homes.size(); ++i) {
    const std::vector<home_run> one{homes[i]};
    row(homes[i].h.name, in_name, pool(one, {main_line.per_home_in[i]}));
    row(homes[i].h.name, budget_name, pool(one, {main_line.per_home_budget[i]}));
    row(homes[i].h.name, delay_name, pool(one, {main_line.per_home_delay[i]}));
  }
  row("both", in_name, main_line.in);
  row("both", budget_name, main_line.by_budget);
  row("both", delay_name, main_line.by_delay);

  // Where the routine helps: the delay by the hour the resident stopped.
  std::printf("\n### Delay by the hour of the stop (both homes, factor %s)\n\n", fixed(opt.factor, 1).c_str());
  std::printf("| stop at | stops | inactivity median | p90 | %s |\n|---|---|---|---|---|\n", budget_name.c_str());
  for (int from = opt.day_from; from < opt.day_to; from += 2) {
    std::vector<std::int64_t> in_d, si_d;
    for (std::size_t i = 0; i < homes.size(); ++i)
      for (std::size_t k = 0; k < homes[i].stops.size(); ++k) {
        const auto hour = (homes[i].stops[k] % us_day + us_day) % us_day / us_h;
        if (hour < from || hour >= from + 2) continue;
        in_d.push_back(main_line.per_home_in[i].delays[k]);
        si_d.push_back(main_line.per_home_budget[i].delays[k]);
      }
    std::printf("| %02d-%02d | %zu | %s | %s | %s |\n", from, std::min(from + 2, opt.day_to), in_d.size(),
                span(pct(in_d, 0.5)).c_str(), span(pct(in_d, 0.9)).c_str(), span(pct(si_d, 0.5)).c_str());
  }

  if (opt.list) {
    std::printf("\n### False alarms of inactivity (factor %s) on the untouched data\n\n", fixed(opt.factor, 1).c_str());
    std::printf("| home | opened | label then | counted | message |\n|---|---|---|---|---|\n");
    for (const auto& hr : homes) {
      auto res = adl::replay(inactivity(opt.factor), hr.times, {hr.begin, hr.end});
      for (std::size_t k = 0; k < res.opened.size(); ++k) {
        const auto t = res.opened[k];
        const auto day = (t - hr.begin) / us_day;
        const auto of_day = (t % us_day + us_day) % us_day;
        std::printf("| %s | day %lld %02lld:%02lld | %s | %s | %s |\n", hr.h.name.c_str(), (long long)day,
                    (long long)(of_day / us_h), (long long)(of_day % us_h / us_min), adl::label_at(hr.h, t).c_str(),
                    t >= hr.learned ? "yes" : "no (learning)", res.opened_messages[k].c_str());
      }
    }
  }

  std::printf("\n### Sensitivity (both homes)\n\n");
  std::printf("| factor | inactivity: false alarms / household-month | delay median | p90 | silence with the same false alarms: for | its delay | silence with the same median delay: for | its false alarms / household-month |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& l : lines)
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s |\n", fixed(l.factor, 1).c_str(), fixed(l.in.per_month()).c_str(),
                span(pct(l.in.delays, 0.5)).c_str(), span(pct(l.in.delays, 0.9)).c_str(), span(l.budget_for).c_str(),
                span(pct(l.by_budget.delays, 0.5)).c_str(), span(l.delay_for).c_str(), fixed(l.by_delay.per_month()).c_str());
  return 0;
}
