// What the report says about the machine a demo ran on: the CPU model and logical CPUs from
// /proc/cpuinfo, and the 1-minute load average from /proc/loadavg (how busy it was around a stage).
#pragma once
#include <string>

namespace ll::demo {

std::string cpu_model();  // "AMD EPYC", or "unknown CPU"
int logical_cpus();       // processors listed in /proc/cpuinfo (0 if unreadable)
double load_average();    // the 1-minute load average; NaN if /proc/loadavg is unreadable

}  // namespace ll::demo
