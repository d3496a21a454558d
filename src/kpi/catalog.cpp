// The KPI catalog.
#include "maeul/kpi/catalog.hpp"

#include <algorithm>

namespace maeul::kpi {

const std::vector<definition>& catalog() {
  static const std::vector<definition> all = {
      {key::emergency_response_time, "emergency_response_time", "긴급 대응 시간", "Emergency response time", "disaster", "min", "lower_is_better", 0,
       8, false, "month", "ISO 37120:2018 15.7",
       "사건 신고(reported_at)부터 현장 도착(on_scene_at)까지 평균 분; p90도 함께 보고",
       "Mean minutes from an incident's reported_at to on_scene_at; the 90th percentile is reported too"},
      {key::travel_time_index, "travel_time_index", "통행시간 지수", "Travel time index", "mobility", "ratio", "lower_is_better", 0, 1.3, false,
       "week", "ITU-T Y.4903 / U4SSC",
       "구간 통행시간 평균 ÷ 자유 흐름 통행시간 (센서 attributes.free_flow_s, 없으면 기간 중 최소 시간 평균)",
       "Mean corridor travel time over free-flow travel time (the sensor's attributes.free_flow_s, else the "
       "lowest hourly mean in the period)"},
      {key::transit_boardings_per_capita, "transit_boardings_per_capita", "주민 1인당 대중교통 승차", "Transit boardings per capita", "mobility",
       "boardings/resident", "higher_is_better", 0.35, 0, true, "month", "ISO 37120:2018 19",
       "버스 정류장 승차 합계 ÷ 인구", "Bus stop boardings over residents"},
      {key::electricity_per_capita, "electricity_per_capita", "주민 1인당 전력 소비", "Electricity per capita", "energy", "kWh/resident",
       "lower_is_better", 3.5, 0, true, "month", "ISO 37120:2018 7.1",
       "스마트 미터 전력(kW)의 시간 평균 합(kWh) ÷ 인구", "Smart-meter power (kW) integrated hour by hour (kWh) over residents"},
      {key::renewable_share, "renewable_share", "재생에너지 비율", "Renewable share", "energy", "%", "higher_is_better", 0, 20, false, "month",
       "ISO 37120:2018 7.2", "지역 태양광 발전량 ÷ 소비량 × 100",
       "Local solar output over consumption, in percent"},
      {key::pm25_bad_days, "pm25_bad_days", "초미세먼지 나쁨 일수", "PM2.5 bad days", "environment", "days", "lower_is_better",
       15.0 / 365.0, 0, true, "month", "Korean air quality index (PM2.5 > 35 µg/m³ daily mean)",
       "일평균 PM2.5가 35 µg/m³를 넘은 날 수 (도시의 하루 기준)", "Days whose mean PM2.5 exceeds 35 µg/m³ (city calendar days)"},
      {key::welfare_ack_time, "welfare_ack_time", "복지 경보 확인 시간", "Welfare alert acknowledgement time", "welfare", "min",
       "lower_is_better", 0, 10, false, "month", "Maeul operations",
       "복지 분야 경보 발생부터 확인까지 평균 분", "Mean minutes from a welfare alert to its acknowledgement"},
      {key::sensor_availability, "sensor_availability", "센서 가용률", "Sensor availability", "environment", "%", "higher_is_better", 0, 95,
       false, "week", "ITU-T Y.4903 (data availability)",
       "센서 지표별 선언된 주기(interval_s)로 기대한 값 대비 받은 값의 비율",
       "Readings received over readings expected from each metric's declared interval_s"},
      {key::living_zone_9min_coverage, "living_zone_9min_coverage", "9분 생활권 충족률", "9-minute living zone coverage", "mobility", "%",
       "higher_is_better", 0, 80, false, "year", "Sokcho 9-minute living zone plan",
       "걸어서 9분 안에 모든 필수 시설(의원, 약국, 식료품점, 버스 정류장, 노인 돌봄 시설)에 닿는 주민 비율",
       "Residents within a 9-minute walk of every essential facility category (clinic, pharmacy, grocery, bus "
       "stop, senior care centre)"},
      {key::bus_excess_wait_time, "bus_excess_wait_time", "버스 초과 대기 시간", "Bus excess wait time", "mobility", "min",
       "lower_is_better", 0, 1.5, false, "week", "TfL excess wait time (EWT), TCQSM 3rd ed. ch. 5",
       "관측 평균 대기 Σh²/(2Σh)에서 시간표 평균 대기를 뺀 분 (차량 위치로 얻은 정류장 도착, 정류장이 속한 구역별)",
       "Observed average wait Σh²/(2Σh) minus the scheduled one, in minutes, over the headways h at each stop "
       "(arrivals derived from vehicle positions; the stop's zone)"},
      {key::bus_headway_regularity, "bus_headway_regularity", "버스 배차 규칙성", "Bus headway regularity", "mobility", "cv",
       "lower_is_better", 0, 0.3, false, "week", "TCQSM 3rd ed. headway adherence (coefficient of variation)",
       "정류장별 평균으로 나눈 관측 배차 간격의 변동 계수 (표준편차 ÷ 평균)",
       "Coefficient of variation of observed headways, each over its stop's mean headway in the period "
       "(standard deviation over mean)"},
  };
  return all;
}

walking_model::walking_model() : essential{"clinic", "pharmacy", "grocery", "bus_stop", "care_center"} {}

const definition* find(std::string_view id) {
  for (const auto& d : catalog())
    if (d.id == id) return &d;
  return nullptr;
}

double target_for(const definition& d, double days) { return d.additive ? d.target_per_day * days : d.target; }

std::optional<double> progress(const definition& d, double start, double latest, double target) {
  bool lower = d.direction == "lower_is_better";
  bool met = lower ? latest <= target : latest >= target;
  if (met) return 1.0;
  double gap = target - start;
  if (gap == 0) return std::nullopt;
  double p = (latest - start) / gap;
  return std::clamp(p, 0.0, 1.0);
}

bool valid_period(std::string_view p) { return p == "day" || p == "week" || p == "month" || p == "year"; }

}  // namespace maeul::kpi
